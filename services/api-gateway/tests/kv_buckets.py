"""The gateway's key-value buckets for its tests, on the test's nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats

from vapora_core import kv
from vapora_core.bus.topology import BucketSpec


@asynccontextmanager
async def opened(nats_url: str, spec: BucketSpec) -> AsyncIterator[kv.Bucket]:
    """The bucket of ``spec``, opened as the gateway opens it, on a connection of its own."""
    nc = await nats.connect(nats_url)
    try:
        yield await kv.Bucket.open(nc.jetstream(), spec)
    finally:
        await nc.close()
