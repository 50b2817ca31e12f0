"""JetStream key-value: state that replicas share, changed by compare-and-set.

The fleet's one layer over nats-py's public KV API (``js.create_key_value`` / ``key_value``,
``get``, ``create``, ``update(key, value, last=revision)``, ``delete``, ``watch``). The buckets are
declared in :mod:`vapora_core.bus.topology` (``BUCKETS``), beside the streams.

- :meth:`Bucket.open` creates a bucket, or brings an existing one to its spec (TTL, replicas).
- :meth:`Bucket.get` gives an :class:`Entry` (value and revision) or None. :meth:`Bucket.create`
  writes a key that holds nothing (:class:`~vapora_core.errors.AlreadyExists` when it holds a value),
  optionally with a TTL of its own (per-message TTL, nats-server 2.11 and later): that value goes
  ``ttl_s`` after it was written unless it is updated first. :meth:`Bucket.update` writes only over
  ``revision`` (:class:`~vapora_core.errors.Conflict` when the key moved on), with a TTL of its own when
  given one (else the bucket's applies); :meth:`Bucket.delete` likewise, when given a revision. A
  lease is these three: ``create(key, holder, ttl_s=)`` takes it when it is free,
  ``update(key, holder, revision=, ttl_s=)`` renews it (a holder that lost it gets Conflict), and
  ``delete(key, revision=)`` lets it go; a holder that dies stops renewing, and its lease goes ``ttl_s``
  after its last renewal, free for ``create`` again.
- :meth:`Bucket.change` is the compare-and-set loop: read, compute the new value, write it over the
  revision read (a known revision is tried first, so an uncontended change is one round trip); a
  lost race reads again, at most ``attempts`` times with jittered back-off
  (:func:`vapora_core.retry.retrying`), then :class:`Conflict`. A change may run more than once, also
  after a write whose acknowledgement was lost (a timeout, a failover), so it must see from the value
  whether it is applied already (an id it adds, an id it removes).
- :class:`Changes` funnels the changes many callers of one process make into one compare-and-set per
  key at a time: what arrives for a key while its write is in flight goes together in the next (a
  :class:`~vapora_core.batching.Batcher` per key in use), so under load one round trip carries many.
  :meth:`Changes.post` queues a change its caller does not wait for: it goes first in the next
  write of its key, or on its own ``linger_s`` after it was posted when no write comes meanwhile
  (0: as soon as the event loop comes round), or on :meth:`Changes.flush`.
- :class:`~vapora_core.kv_view.View` keeps every key of a bucket as last seen (its watch, and this
  process's own writes) for synchronous reads; :class:`Recent` the last few thousand keys a process
  touched. Either gives :class:`Changes` the revision to try first, so an uncontended change is one
  round trip.

Errors: a lost race is :class:`Conflict` (retryable). NATS unreachable, a timeout, no JetStream leader:
:class:`~vapora_core.errors.Unavailable` (retryable; whether a write whose answer never came was
applied is unknown, hence the rule on changes above). A key KV refuses, a value over the bucket's
limit: :class:`~vapora_core.errors.InvalidArgument`. Anything else: :class:`~vapora_core.errors.Internal`.
Every lost race is counted in ``vapora_kv_conflicts_total{bucket}``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.errors
import nats.js.errors as js_errors
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.kv import KeyValue

from vapora_core.bus.topology import BucketSpec
from vapora_core.errors import (
    AlreadyExists,
    Conflict,
    Internal,
    InvalidArgument,
    NotFound,
    Unavailable,
    VaporaError,
)
from vapora_core.kv_changes import Cache, Changes, Recent
from vapora_core.metrics import KV_CONFLICTS
from vapora_core.retry import retrying

__all__ = ["NATS_ERRORS", "Bucket", "Cache", "Changes", "Entry", "Recent", "error", "key"]

log = logging.getLogger("vapora.kv")

R = TypeVar("R")

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
_KEY = re.compile(r"[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*")  # what nats-py's KV takes as a key
_CONFIG_DIFFERS = 10058  # JSStreamNameExistErr: "stream name already in use with a different configuration"
_WRONG_LAST = (10071, 10164)  # the expected last revision is not the key's: what nats-py's update maps, delete not
_UNAVAILABLE = (
    asyncio.TimeoutError,  # nats.errors.TimeoutError is one
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.StaleConnectionError,
    nats.errors.NoServersError,
    js_errors.ServiceUnavailableError,
    js_errors.NoStreamResponseError,
)
NATS_ERRORS = (nats.errors.Error, asyncio.TimeoutError)


def _expect(revision: int) -> dict[str, str]:
    return {js_api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE: str(revision)}


def key(*parts: str) -> str:
    """A key of ``parts`` joined by dots: a part of letters, digits, ``-`` and ``_`` as it is, any other
    (an e-mail, an IP address, an empty one) as ``=`` and its UTF-8 in base64url. So every string can
    be a part, and no two lists of parts make the same key."""
    return ".".join(
        p if _PLAIN.fullmatch(p) else "=" + base64.urlsafe_b64encode(p.encode()).decode().rstrip("=") for p in parts
    )


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: bytes
    revision: int


def error(exc: Exception, what: str) -> VaporaError:
    """A nats-py error as the Vapora error it means (see the module docstring)."""
    if isinstance(exc, _UNAVAILABLE):
        return Unavailable(f"{what}: JetStream did not answer ({type(exc).__name__}: {exc}); try again")
    if isinstance(exc, js_errors.InvalidKeyError):
        return InvalidArgument(f"{what}: not a valid key (letters, digits and -/_=. only)")
    if isinstance(exc, js_errors.BucketNotFoundError):
        return NotFound(f"{what}: no such bucket")
    if isinstance(exc, js_errors.APIError) and exc.code == 503:
        return Unavailable(f"{what}: JetStream is unavailable ({exc.description}); try again")
    return Internal(f"{what}: {exc}")


class Bucket:
    """One key-value bucket on a JetStream connection."""

    def __init__(
        self, js: JetStreamContext, kv: KeyValue, spec: BucketSpec, *, attempts: int = 12, deadline_s: float = 10.0
    ) -> None:
        self._js = js
        self._kv = kv
        self.spec = spec
        self.name = spec.name
        self.attempts = attempts
        self.deadline_s = deadline_s
        self._conflicts = KV_CONFLICTS.labels(spec.name)

    @classmethod
    async def open(
        cls, js: JetStreamContext, spec: BucketSpec, *, replicas: int = 1, attempts: int = 12, deadline_s: float = 10.0
    ) -> Bucket:
        """The bucket of ``spec``, created with ``replicas`` (file storage, direct gets); an existing
        one whose TTL, replicas, value limit or description differ is updated to them. ``attempts``
        and ``deadline_s`` bound :meth:`change`."""
        config = js_api.KeyValueConfig(
            bucket=spec.name,
            description=spec.description,
            ttl=spec.ttl_s if spec.ttl_s > 0 else None,
            replicas=replicas,
            max_value_size=spec.max_value_bytes,
            storage=js_api.StorageType.FILE,
            direct=True,
        )
        what = f"bucket {spec.name}"
        try:
            try:
                return cls(js, await js.create_key_value(config), spec, attempts=attempts, deadline_s=deadline_s)
            except js_errors.BadRequestError as exc:
                if exc.err_code != _CONFIG_DIFFERS:
                    raise
            stream = f"KV_{spec.name}"  # a bucket is the stream KV_<bucket> (ADR-8)
            current = (await js.stream_info(stream)).config
            current.max_age = config.ttl
            if config.ttl and current.duplicate_window and current.duplicate_window > config.ttl:
                current.duplicate_window = config.ttl  # the server refuses a window longer than max_age
            current.num_replicas = replicas
            current.max_msg_size = spec.max_value_bytes
            current.description = spec.description
            await js.update_stream(current)
            log.info("%s updated to its spec (ttl %ss, %d replicas)", what, spec.ttl_s, replicas)
            return cls(js, await js.key_value(spec.name), spec, attempts=attempts, deadline_s=deadline_s)
        except NATS_ERRORS as exc:
            raise error(exc, what) from exc

    def _what(self, key: str) -> str:
        return f"key {key} of bucket {self.name}"

    async def get(self, key: str) -> Entry | None:
        """The key's value and revision; None when it holds none (never written, deleted, expired)."""
        try:
            got = await self._kv.get(key)
        except (js_errors.KeyNotFoundError, js_errors.KeyDeletedError):
            return None
        except NATS_ERRORS as exc:
            raise error(exc, self._what(key)) from exc
        if got.value is None or got.revision is None:
            return None
        return Entry(key, got.value, got.revision)

    def _check_size(self, key: str, value: bytes) -> None:
        if len(value) > self.spec.max_value_bytes:
            raise InvalidArgument(
                f"{self._what(key)}: a value of {len(value):,} bytes; at most {self.spec.max_value_bytes:,} fit"
            )

    async def create(self, key: str, value: bytes, *, ttl_s: float | None = None) -> int:
        """Write ``value`` where ``key`` holds nothing; its revision. ``ttl_s``: this value's own
        lifetime (gone ``ttl_s`` after it was written, unless updated first)."""
        self._check_size(key, value)
        try:
            return int(await self._kv.create(key, value, msg_ttl=ttl_s))
        except js_errors.KeyWrongLastSequenceError as exc:
            raise AlreadyExists(f"{self._what(key)} holds a value already") from exc
        except NATS_ERRORS as exc:
            raise error(exc, self._what(key)) from exc

    async def update(self, key: str, value: bytes, *, revision: int, ttl_s: float | None = None) -> int:
        """Write ``value`` over ``revision`` (what was read); its new revision, or :class:`Conflict`.
        ``ttl_s``: this value's own lifetime, as for :meth:`create` (a lease renewed); without it the
        bucket's TTL applies."""
        self._check_size(key, value)
        try:
            if ttl_s is None:
                return int(await self._kv.update(key, value, last=revision))
            # nats-py's update takes no TTL: the same publish it makes (ADR-8: a key is the subject
            # $KV.<bucket>.<key>, the revision read the expected last subject sequence), with one
            return (await self._js.publish(self._subject(key), value, headers=_expect(revision), msg_ttl=ttl_s)).seq
        except NATS_ERRORS as exc:
            raise self._refused(exc, key, revision) from exc

    def _refused(self, exc: Exception, key: str, revision: int | None) -> VaporaError:
        """A write's error: a lost race (the revision expected is not the key's), or what :func:`error` says."""
        lost = isinstance(exc, js_errors.KeyWrongLastSequenceError) or (
            isinstance(exc, js_errors.BadRequestError) and exc.err_code in _WRONG_LAST
        )
        if not lost:
            return error(exc, self._what(key))
        self._conflicts.inc()
        return Conflict(f"{self._what(key)} changed since revision {revision}", bucket=self.name, key=key)

    def _subject(self, key: str) -> str:
        if not _KEY.fullmatch(key):
            raise InvalidArgument(f"{self._what(key)}: not a valid key (letters, digits and -/_=. only)")
        return f"$KV.{self.name}.{key}"

    async def delete(self, key: str, *, revision: int | None = None) -> None:
        """Delete ``key``; with ``revision``, only if that is still its revision (:class:`Conflict`)."""
        try:
            await self._kv.delete(key, last=revision)
        except NATS_ERRORS as exc:
            raise self._refused(exc, key, revision) from exc

    async def watch(self) -> Any:
        """nats-py's ``KeyWatcher`` of every key (its methods carry no annotations: hence ``Any``);
        :class:`~vapora_core.kv_view.View` is its one user."""
        try:
            return await self._kv.watchall()
        except NATS_ERRORS as exc:
            raise error(exc, f"the watch of bucket {self.name}") from exc

    async def change(
        self,
        key: str,
        fn: Callable[[bytes | None], tuple[bytes | None, R]],
        *,
        known: Entry | None = None,
    ) -> tuple[R, Entry | None]:
        """Compare-and-set: ``fn(value)`` (None: the key holds nothing) gives the new value (None: leave
        it) and a result; the value is written over the revision ``fn`` saw. ``known`` is tried first
        instead of a read; a decision to leave the key is only taken on a value just read. Returns the
        result and the key's entry as written or read."""
        if known is not None:
            try:
                return await self._attempt(key, fn, known)  # an uncontended change: one round trip
            except Unavailable:  # a lost race (Conflict) among them: the loop reads and tries again
                pass
        try:
            async for attempt in retrying(
                attempts=self.attempts, initial=0.002, maximum=0.1, jitter=0.005, deadline=self.deadline_s
            ):
                with attempt:
                    return await self._attempt(key, fn, None)
        except Conflict as exc:
            raise Conflict(
                f"{self._what(key)} kept changing: {self.attempts} compare-and-set attempts lost their race; try again",
                bucket=self.name,
                key=key,
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self, key: str, fn: Callable[[bytes | None], tuple[bytes | None, R]], known: Entry | None
    ) -> tuple[R, Entry | None]:
        """One compare-and-set, over ``known`` or (None) over what a read finds."""
        entry = known if known is not None else await self.get(key)
        new, result = fn(entry.value if entry else None)
        if new is None and known is not None:
            entry = await self.get(key)
            new, result = fn(entry.value if entry else None)
        if new is None:
            return result, entry
        return result, Entry(key, new, await self._write(key, new, entry))

    async def _write(self, key: str, value: bytes, over: Entry | None) -> int:
        if over is not None:
            return await self.update(key, value, revision=over.revision)
        try:
            return await self.create(key, value)
        except AlreadyExists as exc:
            self._conflicts.inc()
            raise Conflict(f"{self._what(key)} was created meanwhile", bucket=self.name, key=key) from exc
