"""The router's domain logic: validate, plan, reserve, call, fall back, settle, record.

Validation is :mod:`.validation`, the plan :mod:`.routing`, the budgets :mod:`.budget`, one
provider's retries and breaker :mod:`.attempts`; this module tries the plan's candidates in
order. Each candidate first reserves its worst case on the task and the role's windows, with
``max_tokens`` cut to what they can pay; a role window that cannot pay moves on to the next
candidate, a task cap that cannot pay ends the call (:class:`~vapora_core.errors.BudgetExceeded`,
scope ``task``: the caller asked to stop there). A call some cap binds is read from the
provider as a stream, also for ``Complete``, and stopped at its reservation (:mod:`.metering`):
a JSON answer arrives whole, already generated and billed, so only a stream can be stopped.
A settlement above its reservation (a provider that billed for more than it sent, or an input
the estimate undercounted) is charged in full and counted as an overrun. ``Complete`` and
``StreamComplete`` are one loop; only the second passes deltas on. Plain typed classes with
no transport: the gRPC servicer and the tests drive it directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vapora_core.errors import Internal, InvalidArgument, Unavailable, VaporaError
from vapora_llm_router import metrics
from vapora_llm_router.attempts import Attempts, ignored_max_tokens
from vapora_llm_router.breaker import Breakers
from vapora_llm_router.budget import FLOOR_TOKENS, BudgetLedger, RoleState
from vapora_llm_router.budget_store import Account, Ask, Refusal, Reservation
from vapora_llm_router.config import Config
from vapora_llm_router.metering import Meter
from vapora_llm_router.providers.base import Completion, Provider, ProviderRequest, StreamEvent
from vapora_llm_router.results import Decision, Result
from vapora_llm_router.routing import Candidate, Plan, Router, RouteRequest, estimate_cents, price_of
from vapora_llm_router.validation import validate

log = logging.getLogger("vapora.llm_router")


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


@dataclass(slots=True)
class _Tries:
    """What one request went through: reasons, failed providers, their errors, budget refusals."""

    reasons: list[str]
    failed: list[str] = field(default_factory=list)
    errors: list[VaporaError] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


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

    def _accounts(self, req: RouteRequest) -> list[Account]:
        return self.ledger.accounts(
            req.role, task_id=req.task_id, cost_cap=req.task_cost_cap_cents, token_cap=req.task_token_cap
        )

    def _ask(self, plan: Plan, c: Candidate) -> Ask:
        price = price_of(self.config, c.provider, c.model)
        return Ask(
            input_tokens=plan.input_tokens,
            max_tokens=plan.max_tokens,
            floor_tokens=FLOOR_TOKENS,
            input_cents_per_token=price.input_cents_per_token,
            output_cents_per_token=price.output_cents_per_token,
        )

    def select(self, req: RouteRequest) -> Decision:
        """Dry run: the decision Complete would take now, with its reasons."""
        req = validate(req, require_messages=False)
        plan = self._plan(req)
        accounts = self._accounts(req)
        tries = _Tries(list(plan.reasons))
        for i, c in enumerate(plan.candidates):
            ask = self._ask(plan, c)
            got = self.ledger.check(accounts, ask)
            if isinstance(got, Refusal):
                if (err := self._refused(c, got, tries, count=False)) is not None:
                    raise err
                continue
            return self._decision(plan, tries.reasons, i, ask.cents(got.max_tokens))
        raise self._no_provider(req, tries)

    # -- calls -------------------------------------------------------------------------

    def _decision(self, plan: Plan, reasons: list[str], index: int, estimate: float) -> Decision:
        c = plan.candidates[index]
        return Decision(
            provider=c.provider,
            model=c.model,
            reasons=(*reasons, f"chose {c.provider}/{c.model}"),
            fallback_chain=tuple(x.provider for x in plan.candidates[index + 1 :]),
            estimated_cost_cents=estimate,
        )

    def _provider_request(self, req: RouteRequest, c: Candidate, max_tokens: int) -> ProviderRequest:
        return ProviderRequest(
            model=c.model,
            system=req.system,
            messages=req.messages,
            max_tokens=max_tokens,
            temperature=req.temperature,
            tools=req.tools,
        )

    def _refused(self, c: Candidate, refusal: Refusal, tries: _Tries, *, count: bool) -> VaporaError | None:
        """A task cap that cannot pay ends the call (the error); a role window moves on (None)."""
        if refusal.account.scope == "task":
            if count:
                metrics.TASK_CAP_REFUSALS.labels(refusal.limit).inc()
            return refusal.error()
        tries.reasons.append(f"skipped {c.provider}: {refusal.why()}")
        tries.refusals.append(refusal)
        if count:
            metrics.FALLBACKS.labels(c.provider, "budget").inc()
        return None

    def _capped(self, plan: Plan, held: Reservation, tries: _Tries) -> None:
        if held.capped_by is None:
            return
        metrics.MAX_TOKENS_CAPPED.labels(held.capped_by.scope).inc()
        tries.reasons.append(
            f"max_tokens {plan.max_tokens} → {held.max_tokens}: "
            f"what {held.capped_by.describe(held.capped_limit)} can still pay"
        )

    async def _finish(
        self,
        *,
        req: RouteRequest,
        c: Candidate,
        preq: ProviderRequest,
        completion: Completion,
        held: Reservation,
        stopped: bool,
        started: float,
        plan: Plan,
        tries: _Tries,
        index: int,
    ) -> Result:
        if stopped:  # charged its whole reservation: the provider's own usage never came
            cost, tokens = held.cents, held.tokens
        else:
            cost = estimate_cents(self.config, c.provider, c.model, completion.input_tokens, completion.output_tokens)
            tokens = completion.input_tokens + completion.output_tokens
            if ignored_max_tokens(preq, completion):
                tries.reasons.append(
                    f"{c.provider} answered {completion.output_tokens} output tokens to max_tokens {preq.max_tokens}"
                )
        await self.ledger.settle(held, cost, tokens, role=req.role, provider=c.provider)
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
                fallback=bool(tries.failed),
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
            decision=self._decision(plan, tries.reasons, index, held.cents),
            failed_providers=tries.failed,
            tool_calls=completion.tool_calls,
            unverified=completion.unverified,
        )

    def _record(self, record: UsageRecord) -> None:
        if self._sink is not None:
            try:
                self._sink(record)
            except Exception:
                log.exception("usage sink failed")

    def _no_provider(self, req: RouteRequest, tries: _Tries) -> VaporaError:
        why = "; ".join(tries.reasons)
        if tries.errors:
            if all(isinstance(e, InvalidArgument) and not isinstance(e, Internal) for e in tries.errors):
                return InvalidArgument(f"every provider refused the request: {why}")
            return Unavailable(f"every provider failed: {why}")
        if tries.refusals:
            metrics.BUDGET_REJECTIONS.labels(req.role).inc()
            return tries.refusals[0].error(f"no provider fits the budget of role {req.role}: {why}")
        return Unavailable(f"no provider is available: {why}")

    def _fail(self, req: RouteRequest, tries: _Tries, started: float, error: VaporaError | None = None) -> VaporaError:
        err = error or self._no_provider(req, tries)
        last = tries.failed[-1] if tries.failed else ""
        metrics.REQUESTS.labels(last or "none", "", req.role, "error").inc()
        if tries.failed:
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
                    fallback=len(tries.failed) > 1,
                    at=datetime.now(UTC),
                    error=str(err)[:500],
                )
            )
        return err

    async def complete(self, req: RouteRequest) -> Result:
        async with aclosing(self._run(req, forward=False)) as items:
            async for item in items:
                if isinstance(item, Result):
                    return item
        raise AssertionError("unreachable: _run ends with a Result or raises")  # pragma: no cover

    async def stream(self, req: RouteRequest) -> AsyncIterator[StreamEvent | Result]:
        """Deltas as :class:`StreamEvent`, then one :class:`Result`.

        Falls back to the next provider only before the first delta went out; after
        that, a failure ends the stream with the error.
        """
        async with aclosing(self._run(req, forward=True)) as items:
            async for item in items:
                yield item

    async def _run(self, req: RouteRequest, *, forward: bool) -> AsyncGenerator[StreamEvent | Result, None]:
        """The candidates in order: reserve, call (metered when a cap binds), settle; deltas if ``forward``."""
        req = validate(req)
        started = time.perf_counter()
        plan = self._plan(req)
        accounts = self._accounts(req)
        tries = _Tries(list(plan.reasons))
        retry = self.config.router.retry
        for i, c in enumerate(plan.candidates):
            provider = self.providers.get(c.provider)
            if provider is None:
                continue
            got = await self.ledger.reserve(accounts, self._ask(plan, c))
            if isinstance(got, Refusal):
                if (err := self._refused(c, got, tries, count=True)) is not None:
                    raise self._fail(req, tries, started, err)
                continue
            held = got
            self._capped(plan, held, tries)
            preq = self._provider_request(req, c, held.max_tokens)
            sent, final = False, None
            meter = Meter(held.max_tokens)
            try:
                if forward or held.limited:
                    async with aclosing(self.attempts.stream(provider, preq, retry)) as events:
                        async for ev in events:
                            if ev.final is not None:
                                final = ev.final
                                continue
                            meter.add(ev)
                            if forward and ev.delta:
                                sent = True
                                yield ev
                            if held.limited and meter.over:
                                break
                else:
                    final = await self.attempts.complete(provider, preq, retry)
            except VaporaError as exc:
                await self.ledger.release(held, role=req.role)
                if sent:
                    raise
                tries.failed.append(c.provider)
                tries.errors.append(exc)
                tries.reasons.append(f"{c.provider} failed: {exc}")
                metrics.FALLBACKS.labels(c.provider, exc.code).inc()
                continue
            except BaseException:
                # Cancelled mid-call (caller's deadline, a client gone, shutdown): the provider
                # may still bill it, so the worst case stays charged.
                await self.ledger.settle(held, held.cents, held.tokens, role=req.role, provider=c.provider)
                raise
            if final is None:
                metrics.RESERVATION_STOPS.labels(c.provider).inc()
                tries.reasons.append(
                    f"stopped {c.provider} at its reservation: ~{meter.tokens} output tokens "
                    f"(characters ÷ 4) passed max_tokens {held.max_tokens}"
                )
            yield await self._finish(
                req=req,
                c=c,
                preq=preq,
                completion=final or meter.stopped(model=c.model, input_tokens=held.input_tokens),
                held=held,
                stopped=final is None,
                started=started,
                plan=plan,
                tries=tries,
                index=i,
            )
            return
        raise self._fail(req, tries, started)
