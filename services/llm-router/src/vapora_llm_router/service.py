"""The router's domain logic: validate, plan, reserve, call, fall back, settle, record.

Validation is :mod:`.validation`, the plan :mod:`.routing`, one provider's retries and breaker
:mod:`.attempts`; this module tries the plan's candidates in order, each with a budget
reservation settled by the billed cost. Plain typed classes with no transport: the gRPC
servicer and the tests drive it directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vapora_core.errors import Internal, InvalidArgument, ResourceExhausted, Unavailable, VaporaError
from vapora_llm_router import metrics
from vapora_llm_router.attempts import Attempts
from vapora_llm_router.breaker import Breakers
from vapora_llm_router.budget import BudgetLedger, Reservation, RoleState
from vapora_llm_router.config import Config
from vapora_llm_router.providers.base import Completion, Provider, ProviderRequest, StreamEvent, ToolCall
from vapora_llm_router.routing import Candidate, Plan, Router, RouteRequest, estimate_cents
from vapora_llm_router.validation import validate

log = logging.getLogger("vapora.llm_router")


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    provider: str
    model: str
    reasons: tuple[str, ...]
    fallback_chain: tuple[str, ...]
    estimated_cost_cents: float


@dataclass(slots=True, kw_only=True)
class Result:
    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_cents: float
    latency_ms: int
    finish_reason: str
    decision: Decision
    failed_providers: list[str] = field(default_factory=list)
    tool_calls: tuple[ToolCall, ...] = ()
    unverified: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    request: RouteRequest
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_cents: float
    success: bool
    latency_ms: int
    fallback: bool
    at: datetime
    error: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


UsageSink = Callable[[UsageRecord], None]


class RouterService:
    def __init__(
        self,
        config: Config,
        providers: Mapping[str, Provider],
        unavailable: Mapping[str, str],
        *,
        usage_sink: UsageSink | None = None,
        breakers: Breakers | None = None,
        ledger: BudgetLedger | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.providers = dict(providers)
        b = config.router.breaker
        self.breakers = breakers or Breakers(b.failure_threshold, b.cooldown_s)
        self.ledger = ledger or BudgetLedger(config.budget)
        self.router = Router(config, unavailable, self.breakers)
        self.attempts = Attempts(self.breakers, sleep)
        self._sink = usage_sink

    @property
    def config(self) -> Config:
        return self.router.config

    def apply_config(self, config: Config) -> None:
        """Swap in a new config (already validated) for every following request."""
        self.router.config = config
        b = config.router.breaker
        self.breakers.configure(b.failure_threshold, b.cooldown_s)
        self.ledger.replace_config(config.budget)

    # -- queries -----------------------------------------------------------------------

    def budget_status(self, role: str = "") -> list[RoleState]:
        roles = [role] if role else sorted(self.ledger.config.roles)
        return [self.ledger.status(r) for r in roles]

    def _plan(self, req: RouteRequest) -> Plan:
        self.breakers.refresh_gauges()
        return self.router.plan(req, self.ledger.status(req.role))

    def select(self, req: RouteRequest) -> Decision:
        """Dry run: the decision Complete would take now, with its reasons."""
        req = validate(req, require_messages=False)
        plan = self._plan(req)
        reasons = list(plan.reasons)
        for i, c in enumerate(plan.candidates):
            ok, why = self.ledger.fits(req.role, c.estimate_cents)
            if ok:
                return self._decision(plan, reasons, i)
            reasons.append(f"skipped {c.provider}: {why}")
        raise self._no_provider(req, plan, reasons, [])

    # -- calls -------------------------------------------------------------------------

    def _decision(self, plan: Plan, reasons: list[str], index: int) -> Decision:
        c = plan.candidates[index]
        return Decision(
            provider=c.provider,
            model=c.model,
            reasons=(*reasons, f"chose {c.provider}/{c.model}"),
            fallback_chain=tuple(x.provider for x in plan.candidates[index + 1 :]),
            estimated_cost_cents=c.estimate_cents,
        )

    def _provider_request(self, req: RouteRequest, c: Candidate, plan: Plan) -> ProviderRequest:
        return ProviderRequest(
            model=c.model,
            system=req.system,
            messages=req.messages,
            max_tokens=plan.max_tokens,
            temperature=req.temperature,
            tools=req.tools,
        )

    def _reserve(self, req: RouteRequest, c: Candidate, reasons: list[str]) -> Reservation | None:
        reservation = self.ledger.try_reserve(req.role, c.estimate_cents)
        if reservation is None:
            _, why = self.ledger.fits(req.role, c.estimate_cents)
            reasons.append(f"skipped {c.provider}: {why}")
            metrics.FALLBACKS.labels(c.provider, "budget").inc()
        return reservation

    def _finish(
        self,
        *,
        req: RouteRequest,
        c: Candidate,
        completion: Completion,
        reservation: Reservation,
        started: float,
        plan: Plan,
        reasons: list[str],
        index: int,
        failed: list[str],
    ) -> Result:
        cost = estimate_cents(self.config, c.provider, c.model, completion.input_tokens, completion.output_tokens)
        self.ledger.settle(reservation, cost)
        latency_ms = int((time.perf_counter() - started) * 1000)
        metrics.REQUESTS.labels(c.provider, c.model, req.role, "ok").inc()
        metrics.TOKENS.labels(c.provider, c.model, req.role, "input").inc(completion.input_tokens)
        metrics.TOKENS.labels(c.provider, c.model, req.role, "output").inc(completion.output_tokens)
        metrics.COST.labels(c.provider, c.model, req.role).inc(cost)
        self._record(
            UsageRecord(
                request=req,
                provider=c.provider,
                model=c.model,
                input_tokens=completion.input_tokens,
                output_tokens=completion.output_tokens,
                cost_cents=cost,
                success=True,
                latency_ms=latency_ms,
                fallback=bool(failed),
                at=datetime.now(UTC),
            )
        )
        return Result(
            text=completion.text,
            provider=c.provider,
            model=c.model,
            input_tokens=completion.input_tokens,
            output_tokens=completion.output_tokens,
            cost_cents=cost,
            latency_ms=latency_ms,
            finish_reason=completion.finish_reason,
            decision=self._decision(plan, reasons, index),
            failed_providers=failed,
            tool_calls=completion.tool_calls,
            unverified=completion.unverified,
        )

    def _record(self, record: UsageRecord) -> None:
        if self._sink is not None:
            try:
                self._sink(record)
            except Exception:
                log.exception("usage sink failed")

    def _no_provider(self, req: RouteRequest, plan: Plan, reasons: list[str], errors: list[VaporaError]) -> VaporaError:
        why = "; ".join(reasons)
        if errors:
            if all(isinstance(e, InvalidArgument) and not isinstance(e, Internal) for e in errors):
                return InvalidArgument(f"every provider refused the request: {why}")
            return Unavailable(f"every provider failed: {why}")
        if any("budget" in r and r.startswith("skipped") for r in reasons):
            metrics.BUDGET_REJECTIONS.labels(req.role).inc()
            return ResourceExhausted(f"no provider fits the budget of role {req.role}: {why}")
        return Unavailable(f"no provider is available: {why}")

    def _fail(
        self,
        req: RouteRequest,
        plan: Plan,
        reasons: list[str],
        *,
        errors: list[VaporaError],
        failed: list[str],
        started: float,
    ) -> VaporaError:
        err = self._no_provider(req, plan, reasons, errors)
        last = failed[-1] if failed else ""
        metrics.REQUESTS.labels(last or "none", "", req.role, "error").inc()
        if failed:
            self._record(
                UsageRecord(
                    request=req,
                    provider=last,
                    model="",
                    input_tokens=0,
                    output_tokens=0,
                    cost_cents=0.0,
                    success=False,
                    latency_ms=int((time.perf_counter() - started) * 1000),
                    fallback=len(failed) > 1,
                    at=datetime.now(UTC),
                    error=str(err)[:500],
                )
            )
        return err

    async def complete(self, req: RouteRequest) -> Result:
        req = validate(req)
        started = time.perf_counter()
        plan = self._plan(req)
        reasons = list(plan.reasons)
        failed: list[str] = []
        errors: list[VaporaError] = []
        for i, c in enumerate(plan.candidates):
            provider = self.providers.get(c.provider)
            if provider is None:
                continue
            reservation = self._reserve(req, c, reasons)
            if reservation is None:
                continue
            try:
                completion = await self.attempts.complete(
                    provider, self._provider_request(req, c, plan), self.config.router.retry
                )
            except VaporaError as exc:
                self.ledger.settle(reservation, 0.0)
                failed.append(c.provider)
                errors.append(exc)
                reasons.append(f"{c.provider} failed: {exc}")
                metrics.FALLBACKS.labels(c.provider, exc.code).inc()
                continue
            except BaseException:
                # Cancelled mid-call (caller's deadline, shutdown): the provider may still bill
                # it, so the worst case stays charged.
                self.ledger.settle(reservation, reservation.amount)
                raise
            return self._finish(
                req=req,
                c=c,
                completion=completion,
                reservation=reservation,
                started=started,
                plan=plan,
                reasons=reasons,
                index=i,
                failed=failed,
            )
        raise self._fail(req, plan, reasons, errors=errors, failed=failed, started=started)

    async def stream(self, req: RouteRequest) -> AsyncIterator[StreamEvent | Result]:
        """Deltas as :class:`StreamEvent`, then one :class:`Result`.

        Falls back to the next provider only before the first delta went out; after
        that, a failure ends the stream with the error.
        """
        req = validate(req)
        started = time.perf_counter()
        plan = self._plan(req)
        reasons = list(plan.reasons)
        failed: list[str] = []
        errors: list[VaporaError] = []
        for i, c in enumerate(plan.candidates):
            provider = self.providers.get(c.provider)
            if provider is None:
                continue
            reservation = self._reserve(req, c, reasons)
            if reservation is None:
                continue
            preq = self._provider_request(req, c, plan)
            sent = False
            final: Completion | None = None
            try:
                async with aclosing(self.attempts.stream(provider, preq, self.config.router.retry)) as events:
                    async for ev in events:
                        if ev.final is not None:
                            final = ev.final
                        else:
                            sent = True
                            yield ev
            except VaporaError as exc:
                self.ledger.settle(reservation, 0.0)
                if sent:
                    raise
                failed.append(c.provider)
                errors.append(exc)
                reasons.append(f"{c.provider} failed: {exc}")
                metrics.FALLBACKS.labels(c.provider, exc.code).inc()
                continue
            except BaseException:
                # Cancelled mid-stream: charge the worst case, as for Complete.
                self.ledger.settle(reservation, reservation.amount)
                raise
            assert final is not None  # Attempts.stream ends with the final event or raises
            yield self._finish(
                req=req,
                c=c,
                completion=final,
                reservation=reservation,
                started=started,
                plan=plan,
                reasons=reasons,
                index=i,
                failed=failed,
            )
            return
        raise self._fail(req, plan, reasons, errors=errors, failed=failed, started=started)
