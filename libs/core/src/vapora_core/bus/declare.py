"""Declaring the fleet's streams and durable consumers: idempotent, and retried through a NATS outage.

Every process declares every stream at start and its own consumers, so on a cluster seven
processes may ask at once, each ask a proposal of the JetStream meta leader that every node
applies. So a stream is only updated when its configuration differs from the spec (asking
costs one info request), creating one that another process created meanwhile is not an error,
and an ask that times out, finds no JetStream leader (an election, a node restarting) or too few
current nodes to place the stream on is asked again with :func:`vapora_core.retry.retrying` for
up to ``DECLARE_DEADLINE_S``. What JetStream refuses for good (a bad configuration) is raised
at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api as js_api
from nats.js.errors import BadRequestError, NotFoundError, ServerError, ServiceUnavailableError

from vapora_core.bus.topology import ConsumerSpec, StreamSpec
from vapora_core.errors import Unavailable
from vapora_core.retry import retrying

T = TypeVar("T")

DECLARE_ATTEMPTS = 30
DECLARE_DEADLINE_S = 90.0  # inside what a process is given to become ready
DECLARE_WAIT_S = (0.2, 3.0)  # first and longest wait between two asks
NO_PEERS = 10005  # JetStream's "no suitable peers for placement": the nodes are not all current yet

_RETENTION = {
    "limits": js_api.RetentionPolicy.LIMITS,
    "workqueue": js_api.RetentionPolicy.WORK_QUEUE,
    "interest": js_api.RetentionPolicy.INTEREST,
}


def stream_config(spec: StreamSpec, replicas: int) -> js_api.StreamConfig:
    """``spec`` as JetStream stream settings, file-stored with ``replicas`` copies."""
    return js_api.StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=_RETENTION[spec.retention],
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        storage=js_api.StorageType.FILE,
        num_replicas=replicas,
        description=spec.description,
    )


def consumer_config(spec: ConsumerSpec) -> js_api.ConsumerConfig:
    """``spec`` as JetStream consumer settings: what every durable consumer of the fleet is declared with."""
    many = len(spec.filter_subjects) > 1
    return js_api.ConsumerConfig(
        durable_name=spec.durable,
        ack_policy=js_api.AckPolicy.EXPLICIT,
        ack_wait=spec.ack_wait_s,
        max_deliver=spec.max_deliver,
        max_ack_pending=spec.max_ack_pending,
        deliver_policy=js_api.DeliverPolicy.NEW if spec.deliver_new_only else js_api.DeliverPolicy.ALL,
        filter_subject=None if many else spec.filter_subjects[0],
        filter_subjects=list(spec.filter_subjects) if many else None,
        description=spec.description,
    )


def _same_stream(have: js_api.StreamConfig, want: js_api.StreamConfig) -> bool:
    """Whether a stream as it is already has every setting the spec gives it."""
    return (
        sorted(have.subjects or []) == sorted(want.subjects or [])
        and have.retention == want.retention
        and have.max_age == want.max_age
        and have.duplicate_window == want.duplicate_window
        and have.storage == want.storage
        and have.num_replicas == want.num_replicas
        and (have.description or "") == (want.description or "")
    )


@contextlib.contextmanager
def _outage_is_unavailable(what: str) -> Iterator[None]:
    """NATS or JetStream not answering now (a timeout, no responders, 503, 500) → :class:`Unavailable`."""
    try:
        yield
    except (NatsTimeout, NoRespondersError, ServiceUnavailableError, ServerError) as exc:
        raise Unavailable(f"declaring {what}: JetStream did not answer: {exc}") from exc


async def _retried(what: str, ask: Callable[[], Awaitable[T]]) -> T:
    first, longest = DECLARE_WAIT_S
    async for attempt in retrying(
        attempts=DECLARE_ATTEMPTS, initial=first, maximum=longest, deadline=DECLARE_DEADLINE_S, jitter=first
    ):
        with attempt, _outage_is_unavailable(what):
            return await ask()
    raise AssertionError("unreachable")  # pragma: no cover


async def declare_stream(js: Any, spec: StreamSpec, replicas: int) -> None:
    """Create ``spec``'s stream, or bring an existing one up to it (only when it differs)."""
    config = stream_config(spec, replicas)

    async def ask() -> None:
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            try:
                await js.add_stream(config)
                return
            except BadRequestError as exc:
                if exc.err_code == NO_PEERS:  # a node (re)joining: not enough peers to place it on yet
                    raise Unavailable(f"declaring stream {spec.name}: {exc.description}") from exc
                info = await js.stream_info(spec.name)  # created by another process meanwhile
        if not _same_stream(info.config, config):
            await js.update_stream(config)

    await _retried(f"stream {spec.name}", ask)


async def declare_consumer(js: Any, spec: ConsumerSpec) -> None:
    """Create ``spec``'s durable consumer, or bring an existing one up to ``spec``."""
    config = consumer_config(spec)

    async def ask() -> None:
        try:
            await js.add_consumer(spec.stream, config)
        except BadRequestError:
            await js.update_consumer(spec.stream, config)

    await _retried(f"consumer {spec.durable} of {spec.stream}", ask)
