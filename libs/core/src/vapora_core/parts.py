"""What a service started, stopped in reverse: the one start/stop sequence of every ``app.py``.

Each step of an app's ``start()`` registers its stop as it goes, and ``stop()`` (of
:class:`ServiceApp`, which every app is) is ``await self.parts.stop()``::

    self.parts = parts = Parts(settings.service_name, settings.shutdown_grace_s)
    store = await parts.store(Store.from_settings(settings, NAMESPACE), SCHEMA)
    parts.callback("the gRPC channels", clients.close)
    await parts.bus(bus)
    await parts.grpc(GrpcServer(...))
    parts.periodic(Periodic("retention-sweep", ...))

:meth:`Parts.stop` runs the registered stops last first (on ``contextlib.AsyncExitStack``), so
an app stops in the reverse of the order it started, and a start that failed half-way stops
only what it had started. A stop that raises is logged and the ones after it still run. The
shutdown grace is passed down to the parts that take one (gRPC lets calls in flight finish
within it; the store and the bus have it from their settings). Where a service's documented stop
order is not the reverse of its start, it registers that stop earlier than the part starts
(the gateway's task writer is closed once HTTP has stopped, before the bus).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

from vapora_core.aio import Periodic
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_core.metrics import Readiness
from vapora_core.settings import ServiceSettings
from vapora_core.store import Store

log = logging.getLogger("vapora.parts")


class Parts:
    """The stops of what ``service`` started, run in reverse by :meth:`stop`."""

    def __init__(self, service: str, grace: float) -> None:
        self.service = service
        self.grace = grace
        self._stack = AsyncExitStack()

    async def store(self, store: Store, schema: Sequence[str] = ()) -> Store:
        """Open ``store`` and apply ``schema``; closed (once its queries in flight are back) on stop."""
        await store.open(schema)  # a store that fails to open has closed itself
        self.callback("the store", store.close)
        return store

    async def bus(self, bus: Bus) -> Bus:
        """Start ``bus`` (streams declared, the consumers subscribed so far started); stopped on stop,
        also when it fails half-way through starting."""
        self.callback("the bus", bus.stop)
        await bus.start()
        return bus

    async def grpc(self, server: GrpcServer, *, serving: bool = True) -> GrpcServer:
        """Serve ``server`` (health NOT_SERVING until told otherwise if not ``serving``); on stop it
        reports NOT_SERVING and lets calls finish within the grace."""
        await server.start(serving=serving)
        self.callback("the gRPC server", server.stop, self.grace)
        return server

    def periodic(self, loop: Periodic) -> Periodic:
        """Start ``loop``; cancelled and waited for on stop."""
        loop.start()
        self.callback(loop.name, loop.stop)
        return loop

    def callback(self, what: str, fn: Callable[..., Awaitable[Any] | Any], *args: Any) -> None:
        """Call ``fn(*args)`` (awaited if it returns an awaitable) on stop, before every stop
        registered earlier; ``what`` names it in the log if it fails."""
        self._stack.push_async_callback(self._guarded, what, fn, args)

    async def stop(self) -> None:
        """Run every registered stop, the last registered first; each once, whatever the others do."""
        stack, self._stack = self._stack, AsyncExitStack()
        await stack.aclose()

    async def _guarded(self, what: str, fn: Callable[..., Awaitable[Any] | Any], args: tuple[Any, ...]) -> None:
        try:
            result = fn(*args)
            if isinstance(result, Awaitable):
                await result
        except Exception:
            log.exception("%s: stopping %s failed; stopping the rest", self.service, what)


class ServiceApp:
    """What every service's app has: its readiness, its :class:`Parts`, the gRPC server it serves
    (``None`` for the two that serve none: the gateway's API is HTTP, the agent-runtime serves
    nothing), and a stop that drops readiness and runs the parts' stops."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.readiness = Readiness(settings.service_name)
        self.parts = Parts(settings.service_name, settings.shutdown_grace_s)
        self.grpc: GrpcServer | None = None

    @property
    def grpc_port(self) -> int:
        """The port gRPC serves on; 0 before start."""
        return self.grpc.port if self.grpc is not None else 0

    async def stop(self) -> None:
        """Not ready any more, then every part's stop, in the reverse of the order they started."""
        self.readiness.set(False)
        await self.parts.stop()
