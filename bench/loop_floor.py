"""The floor under bench_loop's gateway hop: the least a gRPC hop in front of an MCP session costs.

    uv run python bench/loop_floor.py PORT_FILE   (bench_loop starts it)

A bare ``grpc.aio`` server, in its own process, with one method (``/bench.Floor/Call``, raw bytes
in and out) whose handler calls ``sysinfo.utc_now`` through mcp-gateway's own session class
(:class:`vapora_mcp_gateway.connection.ServerConnection`, the official ``mcp`` client over stdio)
and answers the result's text. No identity, checks, call log, metrics or spans: what a gateway
costs with nothing of its own, so the bench can say how much of its hop is mcp-gateway's and how
much is a gRPC round trip plus a second process between the caller and the MCP server.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

METHOD = "/bench.Floor/Call"
SYSINFO = "vapora_mcp_gateway.servers.sysinfo"


async def serve(port_file: Path) -> None:
    import grpc

    from vapora_mcp_gateway.config import ServerConfig
    from vapora_mcp_gateway.connection import ServerConnection

    async def ignore(*_: Any) -> None:
        return None

    config = ServerConfig(name="sysinfo", command=sys.executable, args=("-m", SYSINFO), timeout_s=10)
    connection = ServerConnection(config, on_tools=ignore, on_state=ignore)
    connection.start()
    if not await connection.wait_up(60):
        raise SystemExit(f"the sysinfo server did not start: {connection.last_error}")

    async def call(request: bytes, context: Any) -> bytes:
        result = await connection.call_tool("utc_now", {})
        return "".join(getattr(c, "text", "") for c in result.content).encode()

    service, name = METHOD.strip("/").split("/")
    handler = grpc.method_handlers_generic_handler(service, {name: grpc.unary_unary_rpc_method_handler(call)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([handler])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    port_file.write_text(str(port))  # noqa: ASYNC240 - once, at start
    await server.wait_for_termination()


class Floor:
    """The floor server as a subprocess and a client of it; :meth:`call` is one tool call through it."""

    def __init__(self, proc: asyncio.subprocess.Process, channel: Any) -> None:
        self.proc = proc
        self._channel = channel
        self._method = channel.unary_unary(METHOD)

    @classmethod
    async def start(cls, directory: Path) -> Floor:
        import grpc

        from vapora_testing.polling import eventually

        port_file = directory / "floor-port"
        proc = await asyncio.create_subprocess_exec(sys.executable, __file__, str(port_file))
        await eventually(lambda: port_file.exists() and port_file.read_text(), timeout=60, what="the floor's port")
        return cls(proc, grpc.aio.insecure_channel(f"127.0.0.1:{port_file.read_text()}"))

    async def call(self) -> object:
        return await self._method(b"{}", timeout=10)

    async def close(self) -> None:
        await self._channel.close()
        if self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
