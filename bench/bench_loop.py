"""The tool loop's overhead per step: agent-runtime + llm-router + mcp-gateway around an instant model
and a trivial tool, against the same model server and MCP server called directly.

    uv run python bench/bench_loop.py [--jobs N] [--steps K]

Processes: nats-server, llm-router and mcp-gateway as the fleet runs them (vapora_testing.fleet),
and a local OpenAI Chat Completions server (JSON, or SSE when the router streams a budgeted call)
that answers at once: a call of ``sysinfo__utc_now`` until the conversation holds K tool results,
then a final answer. In this process, the runtime's job executor (ListTools, the loop, the
transcript on JetStream) runs jobs of K+1 turns, interleaved in rounds with the same model server
called directly (with the router's own HTTP client) and the same MCP server
(``vapora_mcp_gateway.servers.sysinfo``) called directly with the official ``mcp`` client.

- step:           from one model turn's start to the next (the turn, its tool call, both steps
                  recorded): what a step of a real job costs beyond its model and its tool
- model via router / tool via gateway: one call as the loop sees it
- direct model / direct tool: the floor, called in pairs (a model call, then a tool call) as a step
                  calls them, so each server idles between its calls as in the loop; the same
                  tool called back to back is shown beside it (a busy server's cost), not used
- overheads: step - direct model - direct tool; gateway hop = tool via gateway - direct tool
- the hop's floor: the same tool through a bare grpc.aio server whose handler calls it with
                  mcp-gateway's session class and does nothing else (``loop_floor.py``), paired
                  with model calls as the direct tool is: what any gRPC hop to the server costs
- a tool call's mean split, from mcp-gateway's metrics: its gRPC handler, the MCP call in it, and
                  the rest (gRPC both ways and the runtime's client)

Targets: the gateway hop adds at most 1 ms p50 over the direct call; a whole step's overhead is at
most 5 ms p50. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench_router import pct
from figures import Figures, at_most
from loop_costs import CpuMeter, GatewayTimes, Profiles, child
from loop_floor import Floor

ROOT = Path(__file__).resolve().parents[1]
TOOL = "sysinfo__utc_now"
SYSINFO = "vapora_mcp_gateway.servers.sysinfo"


# -- the model server (its own process) -----------------------------------------------------


def serve(port_file: str, steps: int) -> None:
    from aiohttp import web

    def reply(body: dict[str, Any]) -> dict[str, Any]:
        done = sum(1 for m in body.get("messages", []) if m.get("role") == "tool")
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if done < steps:
            call = {"id": f"call_{done}", "type": "function", "function": {"name": TOOL, "arguments": "{}"}}
            message["tool_calls"] = [call]
        else:
            message["content"] = "It is late."
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if done < steps else "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        answer = reply(body)
        if not body.get("stream"):
            return web.json_response(answer)
        # llm-router reads a provider as a stream when a budget binds the call: the same answer as SSE
        choice = answer["choices"][0]
        delta = {k: v for k, v in choice["message"].items() if v is not None}
        for i, call in enumerate(delta.get("tool_calls", [])):
            call["index"] = i
        chunks = [
            {"id": answer["id"], "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [c]}
            for c in (
                {"index": 0, "delta": delta, "finish_reason": None},
                {"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]},
            )
        ]
        chunks.append({"id": answer["id"], "object": "chat.completion.chunk", "choices": [], "usage": answer["usage"]})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for chunk in chunks:
            await resp.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        Path(port_file).write_text(str(runner.addresses[0][1]))  # noqa: ASYNC240 - once, at start
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the loop, timed ---------------------------------------------------------------------------


class Timed:
    """The loop's router and gateway calls, each timed; turn starts per job, for the step times."""

    def __init__(self, complete: Any, gateway: Any) -> None:
        self._complete = complete
        self._gateway = gateway
        self.model_ms: list[float] = []
        self.tool_ms: list[float] = []
        self.turn_starts: list[float] = []

    async def complete(self, request: Any, *, token: str = "") -> Any:
        t0 = time.perf_counter()
        self.turn_starts.append(t0)
        reply = await self._complete(request, token=token)
        self.model_ms.append((time.perf_counter() - t0) * 1000)
        return reply

    async def list_tools(self, *, workspace_id: str, agent_id: str, token: str) -> Any:
        return await self._gateway.list_tools(workspace_id=workspace_id, agent_id=agent_id, token=token)

    async def call_tool(self, request: Any, *, token: str) -> Any:
        t0 = time.perf_counter()
        reply = await self._gateway.call_tool(request, token=token)
        self.tool_ms.append((time.perf_counter() - t0) * 1000)
        return reply


def manifest(steps: int) -> Any:
    from vapora_agent_runtime.manifest import AgentManifest

    return AgentManifest.model_validate(
        {
            "id": "bench",
            "role": "developer",
            "preferred_provider": "openai",
            "preferred_model": "gpt-4o",
            "allowed_tools": ["sysinfo.utc_now"],
            "system_prompt": "Tell the time.",
            "capabilities": ["bench"],
            "limits": {"max_steps": steps + 1, "loop_repeats": 100, "max_cost_cents": 0},
        }
    )


def job(n: int, signer: Any) -> Any:
    """Job n of the bench agent, with the token the coordinator would sign for it."""
    from vapora.coordinator.v1 import coordinator_pb2
    from vapora.tasks.v1 import tasks_pb2
    from vapora_core.jobtoken import JobClaims

    task = tasks_pb2.Task(id=f"bench-task-{n}", workspace_id="ws-bench", title="What time is it?", task_type="bench")
    claims = JobClaims.issue(
        agent_id="bench",
        role="developer",
        workspace_id="ws-bench",
        task_id=task.id,
        job_id=f"bench-job-{n}",
        lifetime_s=3600,
        tools=["sysinfo.utc_now"],
    )
    return coordinator_pb2.JobAssigned(
        job_id=f"bench-job-{n}", agent_id="bench", attempt=1, task=task, token=signer.sign(claims)
    )


async def direct_tool() -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    stack = AsyncExitStack()
    params = StdioServerParameters(command=sys.executable, args=["-m", SYSINFO])
    read, write = await stack.enter_async_context(stdio_client(params))
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()

    async def call() -> object:
        return await session.call_tool("utc_now", {})

    return call, stack.aclose


async def direct_model(url: str) -> tuple[Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]:
    from vapora_llm_router.providers import base, http

    client = http.HttpClient(http.HttpOptions(base_url=url))  # the router's own client: the floor
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "What time is it?"}], "max_tokens": 64}

    async def call() -> object:
        return await base.post_json(client, "openai", "/v1/chat/completions", body, {"Authorization": "Bearer k"})

    return call, client.aclose


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def direct_steps(
    model: Callable[[], Awaitable[object]], tool: Callable[[], Awaitable[object]], n: int
) -> tuple[list[float], list[float]]:
    """n direct steps: a model call, then a tool call, as a step of the loop makes them; each timed.

    Not the calls of one kind back to back: a server that goes idle between its calls (as the loop's
    do, while the model turn runs) spends more per call, in CPU and in time, than one kept busy."""
    model_ms: list[float] = []
    tool_ms: list[float] = []
    for _ in range(n):
        model_ms += await timed(model, 1)
        tool_ms += await timed(tool, 1)
    return model_ms, tool_ms


async def run(jobs: int, steps: int, rounds: int) -> None:
    from vapora_agent_runtime.clients import McpClient, RouterClient
    from vapora_agent_runtime.service import JobExecutor
    from vapora_core.bus import Bus
    from vapora_core.jobtoken import JobSigner
    from vapora_testing.fleet import Fleet
    from vapora_testing.polling import eventually

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        port_file = tmp / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file), str(steps)])  # noqa: ASYNC220
        fleet = Fleet(run_dir=tmp / "fleet")
        profiles = Profiles()
        step_ms: list[float] = []
        direct_tool_ms: list[float] = []
        direct_model_ms: list[float] = []
        back_to_back_ms, floor_ms = list[float](), list[float]()  # b2b: shown, not a floor
        n = 0
        try:
            await eventually(
                lambda: port_file.exists() and port_file.read_text(), timeout=10, what="the model server's port"
            )
            url = f"http://127.0.0.1:{port_file.read_text()}"
            router_env = {"VAPORA_OPENAI_API_KEY": "k", "VAPORA_OPENAI_BASE_URL": url}
            fleet.service_env = {
                "llm-router": {**router_env, **profiles.service_env("llm-router")},
                "mcp-gateway": profiles.service_env("mcp-gateway"),
            }
            await asyncio.to_thread(fleet.start, ("llm-router", "mcp-gateway"), 120)
            services = {name: fleet.procs[name].pid for name in ("llm-router", "mcp-gateway")}
            signer = JobSigner(fleet.job_keys()[0].read_text())
            async with AsyncExitStack() as parts:  # closed before the fleet stops, whatever happens
                bus = Bus(fleet.nats_url, "bench-runtime")
                await bus.start()
                parts.push_async_callback(bus.stop)
                router = RouterClient(fleet.grpc_addr("llm-router"), timeout=30)
                parts.push_async_callback(router.close)
                mcp = McpClient(fleet.grpc_addr("mcp-gateway"))
                parts.push_async_callback(mcp.close)
                tool_call, close_tool = await direct_tool()
                parts.push_async_callback(close_tool)
                model_call, close_model = await direct_model(url)
                parts.push_async_callback(close_model)
                parts.push_async_callback((floor := await Floor.start(tmp)).close)
                hooks = Timed(router.complete, mcp)
                executor = JobExecutor(complete=hooks.complete, gateway=hooks, sender=bus)
                agent = manifest(steps)
                await executor.execute(agent, job(-1, signer))  # warm up channels, sessions, caches
                await timed(tool_call, 50)
                await timed(model_call, 50)
                await timed(floor.call, 50)
                hooks.model_ms.clear()
                hooks.tool_ms.clear()
                loop_cpu = CpuMeter(
                    {
                        **services,
                        "mcp server (gateway's)": child(services["mcp-gateway"], SYSINFO),
                        "model server": server.pid,
                        "nats-server": fleet.nats.proc.pid if fleet.nats and fleet.nats.proc else 0,
                    }
                )
                direct_mcp = child(os.getpid(), SYSINFO)
                direct_cpu = CpuMeter({"mcp server (direct)": direct_mcp, "model server": server.pid})
                inside = GatewayTimes(fleet.ops_url("mcp-gateway"))
                await inside.mark()
                profiles.restart(list(services.values()))
                per_round = max(1, jobs // rounds)
                for _ in range(rounds):
                    with loop_cpu.phase(), profiles.measuring():
                        for _ in range(per_round):
                            hooks.turn_starts.clear()
                            event = await executor.execute(agent, job(n, signer))
                            assert event.stop_reason == "final_answer" and event.tool_calls == steps, event
                            step_ms += [(b - a) * 1000 for a, b in itertools.pairwise(hooks.turn_starts)]
                            n += 1
                    with direct_cpu.phase():
                        model_ms, tool_ms = await direct_steps(model_call, tool_call, per_round * steps)
                    direct_model_ms += model_ms
                    direct_tool_ms += tool_ms
                    back_to_back_ms += await timed(tool_call, per_round * steps)
                    floor_ms += (await direct_steps(model_call, floor.call, per_round * steps))[1]
                handler_ms, in_mcp_ms = await inside.means()
        finally:
            await asyncio.to_thread(fleet.stop)
            server.terminate()
            server.wait(timeout=10)
            profiles.report(["llm-router", "mcp-gateway"])

    rows = {
        "step": step_ms,
        "model via router": hooks.model_ms,
        "direct model": direct_model_ms,
        "tool via gateway": hooks.tool_ms,
        "direct tool (mcp)": direct_tool_ms,
        "direct tool, back to back": back_to_back_ms,
        "tool via a bare gRPC hop": floor_ms,
    }
    print(f"\ntool loop: {n} jobs of {steps} tool steps + a final answer, {rounds} interleaved rounds\n")
    print(f"{'':<26} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'samples':>8}")
    for name, s in rows.items():
        print(f"{name:<26} {pct(s, 50):>8.3f} {pct(s, 99):>8.3f} {statistics.fmean(s):>8.3f} {len(s):>8}")
    hop50 = pct(hooks.tool_ms, 50) - pct(direct_tool_ms, 50)
    hop99 = pct(hooks.tool_ms, 99) - pct(direct_tool_ms, 99)
    over50 = pct(step_ms, 50) - pct(direct_model_ms, 50) - pct(direct_tool_ms, 50)
    over99 = pct(step_ms, 99) - pct(direct_model_ms, 99) - pct(direct_tool_ms, 99)
    print(f"\ngateway hop over the direct MCP call: p50 {hop50:.3f} ms, p99 {hop99:.3f} ms (target p50 ≤ 1 ms)")
    floor50 = pct(floor_ms, 50) - pct(direct_tool_ms, 50)
    print(f"the hop's floor (a bare grpc.aio server + the same MCP session) over the direct call: p50 {floor50:.3f} ms")
    print(
        f"step overhead (step - direct model - direct tool): p50 {over50:.3f} ms, p99 {over99:.3f} ms"
        " (target p50 ≤ 5 ms)"
    )
    tool_mean = statistics.fmean(hooks.tool_ms)
    outside_ms = tool_mean - handler_ms
    print(
        f"a tool call via the gateway, mean {tool_mean:.3f} ms: {handler_ms:.3f} ms in the gateway's handler"
        f" ({in_mcp_ms:.3f} ms of it its MCP call), {outside_ms:.3f} ms outside it (gRPC both ways, the client)"
    )
    loop_us = loop_cpu.per_call_us(len(hooks.tool_ms))
    direct_us = direct_cpu.per_call_us(len(direct_tool_ms))
    print("\nCPU per step (µs), by process: the loop (a model turn and a tool call, jobs' final turns included)")
    print("against a direct model call and a direct tool call")
    for name, us in loop_us.items():
        print(f"  loop    {name:<26} {us:>9,.0f}")
    for name, us in direct_us.items():
        print(f"  direct  {name:<26} {us:>9,.0f}")
    print(f"  loop total {sum(loop_us.values()):,.0f} µs, direct total {sum(direct_us.values()):,.0f} µs")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    figures = Figures("bench_loop")
    for name, us in loop_us.items():
        figures.add(f"CPU per step: {name}", us, "µs")
    for name, us in direct_us.items():
        figures.add(f"CPU per direct model + tool call: {name}", us, "µs")
    for name, s in rows.items():
        figures.add(f"{name}: p50", pct(s, 50), "ms")
        figures.add(f"{name}: p99", pct(s, 99), "ms")
    figures.add("tool via gateway, mean: in the gateway's handler", handler_ms, "ms")
    figures.add("tool via gateway, mean: the handler's MCP call", in_mcp_ms, "ms")
    figures.add("tool via gateway, mean: outside the handler (gRPC, client)", outside_ms, "ms")
    figures.add("gateway hop over the direct MCP call: p50", hop50, "ms", at_most(1))
    figures.add("gateway hop over the direct MCP call: p99", hop99, "ms")
    figures.add("the hop's floor (bare grpc.aio + the MCP session) over the direct call: p50", floor50, "ms")
    figures.add("step overhead over direct model + tool: p50", over50, "ms", at_most(5))
    figures.add("step overhead over direct model + tool: p99", over99, "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=40, help="jobs of the loop")
    parser.add_argument("--steps", type=int, default=20, help="tool steps per job (at most 98)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    asyncio.run(run(args.jobs, min(args.steps, 98), args.rounds))


if __name__ == "__main__":
    main()
