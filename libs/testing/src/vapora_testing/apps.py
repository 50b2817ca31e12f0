"""A service's app in a test: started for a block and stopped after it, and a stub of its gRPC server.

Fixtures read::

    @pytest.fixture
    async def app(settings: RegistrySettings) -> AsyncIterator[RegistryApp]:
        async with started(RegistryApp(settings)) as a:
            yield a

    @pytest.fixture
    async def stub(app: RegistryApp) -> AsyncIterator[agents_pb2_grpc.AgentRegistryStub]:
        async with grpc_stub(app.grpc_port, agents_pb2_grpc.AgentRegistryStub) as s:
            yield s
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

import grpc

from vapora_core.grpc import channel


class Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


A = TypeVar("A", bound=Startable)
S = TypeVar("S")


@asynccontextmanager
async def started(app: A) -> AsyncIterator[A]:
    """``app`` started for the block and stopped after it, also when the block raises (a start
    that raises stops nothing: the app stops what it had started itself)."""
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@asynccontextmanager
async def grpc_stub(
    port: int, stub: Callable[[grpc.aio.Channel], S], *, timeout: float | None = 5.0
) -> AsyncIterator[S]:
    """``stub`` of the gRPC server on loopback ``port``, over a channel closed after the block. The
    channel is :func:`vapora_core.grpc.channel` (every call's deadline ``timeout`` seconds, trace
    context sent); with ``timeout=None`` a plain insecure channel whose calls have no deadline."""
    target = f"127.0.0.1:{port}"
    async with grpc.aio.insecure_channel(target) if timeout is None else channel(target, timeout=timeout) as ch:
        yield stub(ch)
