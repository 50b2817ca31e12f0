"""The routing decision: which provider and model, in what order to fall back, and why.

Order (every step adds its reason):

1. explicit override (``provider_override`` / ``model_override``)
2. the first matching rule of router.toml (task type, complexity, role)
3. the agent's preferred provider, then router.toml's default (``auto``: best score)
4. availability: providers with no key or an open breaker are skipped
5. budget: under ``near_limit`` the rules stand; at or over it cheaper providers come
   first; exhausted, the cheapest of the fallback chain comes first
6. cost/quality score ``quality / (1 + estimated cents)`` ranks ``auto`` choices

The plan is a list of candidates; the service tries them in order and reserves budget
for each just before calling it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vapora_llm_router.breaker import OPEN, Breakers
from vapora_llm_router.budget import EXHAUSTED, NEAR_LIMIT, RoleState
from vapora_llm_router.config import Config, Price
from vapora_llm_router.providers.base import ChatTurn, ToolDefinition

OFFLINE = "offline"
# Conservative on purpose: a reservation must not be smaller than what the call bills.
CHARS_PER_TOKEN = 3
TOKENS_PER_MESSAGE = 4
TOKENS_OVERHEAD = 8
# With tools, providers add a system prompt of their own (Anthropic documents ~350 tokens).
TOKENS_TOOLS_OVERHEAD = 350


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteRequest:
    request_id: str = ""
    workspace_id: str = ""
    task_id: str = ""
    agent_id: str = ""
    role: str = ""
    task_type: str = ""
    complexity: str = ""
    system: str = ""
    messages: tuple[ChatTurn, ...] = ()
    provider_override: str = ""
    model_override: str = ""
    max_tokens: int = 0
    temperature: float = 0.0
    preferred_provider: str = ""
    preferred_model: str = ""
    tools: tuple[ToolDefinition, ...] = ()
    task_cost_cap_cents: float = 0.0  # 0: no cap
    task_token_cap: int = 0  # 0: no cap


@dataclass(frozen=True, slots=True)
class Candidate:
    provider: str
    model: str
    estimate_cents: float


@dataclass(slots=True)
class Plan:
    candidates: list[Candidate]
    reasons: list[str] = field(default_factory=list)
    budget: RoleState | None = None
    max_tokens: int = 0
    input_tokens: int = 0  # the estimate every candidate's reservation starts from


def _turn_chars(m: ChatTurn) -> int:
    calls = sum(len(c.id) + len(c.name) + len(c.arguments_json) for c in m.tool_calls)
    results = sum(len(r.tool_call_id) + len(r.content) for r in m.tool_results)
    return len(m.content) + calls + results


def estimate_input_tokens(req: RouteRequest) -> int:
    """The prompt's tokens, over-estimated: text, tool calls and results, and tool definitions."""
    chars = len(req.system) + sum(_turn_chars(m) for m in req.messages)
    chars += sum(len(t.name) + len(t.description) + len(t.parameters_json) for t in req.tools)
    parts = len(req.messages) + 1 + sum(len(m.tool_calls) + len(m.tool_results) for m in req.messages)
    tools = TOKENS_TOOLS_OVERHEAD + TOKENS_PER_MESSAGE * len(req.tools) if req.tools else 0
    return chars // CHARS_PER_TOKEN + TOKENS_PER_MESSAGE * parts + tools + TOKENS_OVERHEAD


FREE = Price(input_usd_per_mtok=0, output_usd_per_mtok=0)


def price_of(config: Config, provider: str, model: str) -> Price:
    """The model's price; free for offline and Ollama; the dearest known for an unknown paid model."""
    if provider in (OFFLINE, "ollama"):
        return FREE
    price = config.price(model)
    if price is None:
        prices = list(config.prices.values())
        price = max(prices, key=lambda p: p.input_usd_per_mtok + p.output_usd_per_mtok) if prices else FREE
    return price


def estimate_cents(config: Config, provider: str, model: str, input_tokens: int, max_tokens: int) -> float:
    return price_of(config, provider, model).cost_cents(input_tokens, max_tokens)


class Router:
    """Builds plans from the current config, availability, breakers and budget state."""

    def __init__(self, config: Config, unavailable: Mapping[str, str], breakers: Breakers) -> None:
        self.config = config
        self.unavailable = dict(unavailable)  # provider -> why (no key, disabled)
        self.breakers = breakers

    def model_for(self, provider: str, model: str = "") -> str:
        if model:
            return model
        cfg = self.config.router.providers.get(provider)
        return cfg.model if cfg else ""

    def _why_unavailable(self, provider: str) -> str:
        if provider in self.unavailable:
            return self.unavailable[provider]
        cfg = self.config.router.providers.get(provider)
        if cfg is not None and not cfg.enabled:
            return f"{provider} is disabled in router.toml"
        breaker = self.breakers.get(provider)
        now = self.breakers.now()
        if not breaker.can_try(now):
            if breaker.state(now) == OPEN:
                return (
                    f"{provider} circuit open after {breaker.failures} failures "
                    f"(cooling down {breaker.remaining(now):.1f}s)"
                )
            return f"{provider} circuit half-open, trial call in flight"
        return ""

    def available(self, provider: str) -> bool:
        return not self._why_unavailable(provider)

    def _primary(self, req: RouteRequest, reasons: list[str]) -> tuple[str, str]:
        rc = self.config.router
        if req.provider_override:
            reasons.append(f"explicit override: {req.provider_override}")
            return req.provider_override, self.model_for(req.provider_override, req.model_override)
        for i, rule in enumerate(rc.rules):
            if rule.matches(req.task_type, req.complexity, req.role):
                model = req.model_override or self.model_for(rule.provider, rule.model)
                reasons.append(f"{rule.describe(i)} → {rule.provider}/{model}")
                return rule.provider, model
        if req.preferred_provider:
            reasons.append(f"agent's preferred provider {req.preferred_provider}")
            return req.preferred_provider, self.model_for(
                req.preferred_provider, req.model_override or req.preferred_model
            )
        if rc.default.provider != "auto":
            reasons.append(f"router.toml default {rc.default.provider}")
            return rc.default.provider, self.model_for(rc.default.provider, req.model_override or rc.default.model)
        return "", req.model_override

    def plan(self, req: RouteRequest, budget: RoleState) -> Plan:
        rc = self.config.router
        max_tokens = req.max_tokens if req.max_tokens > 0 else rc.default_max_tokens
        input_tokens = estimate_input_tokens(req)
        reasons: list[str] = []

        def cand(provider: str, model: str = "") -> Candidate:
            m = self.model_for(provider, model)
            return Candidate(provider, m, estimate_cents(self.config, provider, m, input_tokens, max_tokens))

        def score(c: Candidate) -> float:
            cfg = rc.providers.get(c.provider)
            return (cfg.quality if cfg else 0.0) / (1.0 + c.estimate_cents)

        primary_name, primary_model = self._primary(req, reasons)
        pool = [cand(p) for p in rc.fallback_chain]
        if primary_name and primary_name != OFFLINE and primary_name in rc.fallback_chain:
            primary = cand(primary_name, primary_model)
            pool = [primary, *(c for c in pool if c.provider != primary_name)]
        elif primary_name and primary_name not in rc.fallback_chain and primary_name != OFFLINE:
            reasons.append(f"{primary_name} is not in the fallback chain; using the chain")
            primary_name = ""
        elif primary_name == OFFLINE:
            pool = [cand(OFFLINE, primary_model), *pool]

        if not primary_name:
            pool.sort(key=score, reverse=True)
            reasons.append("no rule or preference: ranked by cost/quality score")

        tight = budget.tightest()
        if budget.state == EXHAUSTED and tight is not None:
            pool.sort(key=lambda c: c.estimate_cents)
            reasons.append(
                f"budget of role {budget.role} exhausted ({tight.window} window at {tight.utilization:.0%}): "
                "cheapest provider of the fallback chain first"
            )
        elif budget.state == NEAR_LIMIT and tight is not None and pool:
            head = pool[0]
            cheaper = sorted((c for c in pool[1:] if c.estimate_cents < head.estimate_cents), key=score, reverse=True)
            rest = [c for c in pool if c not in cheaper]
            pool = [*cheaper, *rest]
            reasons.append(
                f"budget of role {budget.role} at {tight.utilization:.0%} of its {tight.window} window "
                f"(≥{self.config.budget.near_limit:.0%}): preferring cheaper providers"
            )
        elif budget.windows:
            reasons.append(f"budget of role {budget.role} at {budget.utilization:.0%}: rules apply")
        else:
            reasons.append(f"no budget configured for role {budget.role or '(none)'}")

        ordered: list[Candidate] = []
        for c in pool:
            why = self._why_unavailable(c.provider)
            if why:
                reasons.append(f"skipped {c.provider}: {why}")
            else:
                ordered.append(c)
        if OFFLINE not in (c.provider for c in ordered):
            why = self._why_unavailable(OFFLINE)
            if not why:
                ordered.append(cand(OFFLINE, primary_model if primary_name == OFFLINE else ""))
            elif not ordered:
                reasons.append(f"skipped offline: {why}")
        return Plan(
            candidates=ordered, reasons=reasons, budget=budget, max_tokens=max_tokens, input_tokens=input_tokens
        )
