"""Serving an aiohttp application: start a TCP site and learn the port it is bound to."""

from __future__ import annotations

from aiohttp import web


async def start_site(runner: web.AppRunner, host: str, port: int, *, backlog: int = 128) -> int:
    """Start a TCP site of ``runner`` (already set up) on ``host``:``port``; the port it is bound
    to (the one the system picked, for port 0), read from aiohttp's public ``runner.addresses``."""
    before = list(runner.addresses)
    site = web.TCPSite(runner, host, port, backlog=backlog)
    await site.start()
    bound = [address for address in runner.addresses if address not in before]
    if not bound:  # bound beside a listed socket of the same address (reuse_port): the port asked for
        return port
    return int(bound[0][1])
