"""Router overhead: time the llm-router adds over calling the same local provider directly.

    uv run --group bench python bench/bench_router.py [--requests N]

A local server speaking the OpenAI Chat Completions wire format runs in its own process.
Measured against it, sequentially, interleaved in rounds so drift hits every client alike:

- direct:       POST /v1/chat/completions with the router's own HTTP client (the floor)
- vapora:       RouterService.complete in-process (rules, breaker, budget reserve/settle,
                usage record, the OpenAI adapter), budgets in this process's memory
- vapora-kv:    the same, budgets in the store router replicas share (JetStream KV on a local
                nats-server, compare-and-set per account): what the router runs
- vapora-grpc:  the whole RouterApp over gRPC on loopback (with nats-server + embedded store)
- litellm:      litellm.Router.acompletion against the same server

Overhead = percentile(client) - percentile(direct); the shared budget store's own cost is
vapora-kv - vapora, in the same run. Wall-clock figures move with the machine's load, so each
client's CPU per call is given too (from /proc): this process (the client, and the router when
in-process), and the nats-server of the shared store for vapora-kv. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from coordinator_cpu import cpu_seconds
from figures import Figures, at_most

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [{"role": "user", "content": "Summarise the plan in one line."}]
REPLY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "A one-line plan."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
}


# -- the provider server (its own process) ------------------------------------------------


def sse_reply() -> bytes:
    """REPLY as OpenAI streams it (``stream: true``, ``stream_options.include_usage``): the router
    always streams from its provider, so it can stop a call at its reservation."""
    message = REPLY["choices"][0]["message"]  # type: ignore[index]
    base = {"id": REPLY["id"], "object": "chat.completion.chunk", "created": 1, "model": REPLY["model"]}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": message["content"]}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": REPLY["usage"]},
    ]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"


def serve(port_file: str) -> None:
    from aiohttp import web

    body, streamed = json.dumps(REPLY).encode(), sse_reply()

    async def chat(request: web.Request) -> web.Response:
        if (await request.json()).get("stream"):
            return web.Response(body=streamed, content_type="text/event-stream")
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        Path(port_file).write_text(str(port))  # noqa: ASYNC240 - once, at start
        await asyncio.Event().wait()

    asyncio.run(main())


# -- clients ------------------------------------------------------------------------------

Call = Callable[[], Awaitable[object]]
KV_SERVER = "nats-server (shared store)"


async def direct_client(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from vapora_llm_router.providers import base, http

    client = http.HttpClient(http.HttpOptions(base_url=url))  # the router's own client: the floor
    payload = {"model": "gpt-4o", "messages": MESSAGES, "max_tokens": 64, "temperature": 0.0}
    headers = {"Authorization": "Bearer bench-key"}

    async def call() -> object:
        return await base.post_json(client, "openai", "/v1/chat/completions", payload, headers)

    return call, client.aclose


def _router_config(tmp: Path) -> Path:
    cfg = tmp / "config"
    cfg.mkdir(exist_ok=True)
    (cfg / "router.toml").write_text(
        'fallback_chain = ["ollama", "gemini", "openai", "anthropic"]\n'
        '[[rules]]\nname = "bench"\ntask_types = ["coding"]\nprovider = "openai"\nmodel = "gpt-4o"\n'
    )
    (cfg / "budget.toml").write_text("[roles.developer]\nmonthly_cents = 100000000\nweekly_cents = 100000000\n")
    (cfg / "prices.toml").write_text((ROOT / "config" / "prices.toml").read_text())
    return cfg


async def vapora_client(
    url: str, tmp: Path, pids: dict[str, int], *, shared: bool = False
) -> tuple[Call, Callable[[], Awaitable[None]]]:
    import nats
    from pydantic import SecretStr

    from vapora_llm_router.budget import BudgetLedger
    from vapora_llm_router.budget_kv import KvStates
    from vapora_llm_router.budget_store import BudgetStore
    from vapora_llm_router.config import load
    from vapora_llm_router.providers import build_providers
    from vapora_llm_router.providers.base import ChatTurn
    from vapora_llm_router.routing import RouteRequest
    from vapora_llm_router.service import RouterService
    from vapora_llm_router.settings import RouterSettings
    from vapora_testing.nats import NatsServer

    settings = RouterSettings(
        config_dir=_router_config(tmp), openai_api_key=SecretStr("bench-key"), openai_base_url=url
    )
    providers, unavailable = build_providers(settings)
    config = load(settings.router_file, settings.budget_file, settings.resolved_prices_file)
    records: list[object] = []
    closing: list[Callable[[], Awaitable[None]]] = [p.aclose for p in providers.values()]
    ledger = None
    if shared:
        server = NatsServer(tmp / "nats-kv", log_file=tmp / "nats-kv.log").start()
        if server.proc is not None:
            pids[KV_SERVER] = server.proc.pid
        nc = await nats.connect(server.url)
        states = await KvStates.open(nc.jetstream(), linger_s=settings.settlement_linger_s)  # as the router
        ledger = BudgetLedger(config.budget, store=BudgetStore(states, replica="bench", ttl_s=30.0))

        async def stop_kv() -> None:
            await states.stop()
            await nc.close()
            server.stop()

        closing.append(stop_kv)
    service = RouterService(config, providers, unavailable, usage_sink=records.append, ledger=ledger)
    req = RouteRequest(
        request_id="bench",
        workspace_id="ws",
        role="developer",
        task_type="coding",
        messages=(ChatTurn("user", MESSAGES[0]["content"]),),
        max_tokens=64,
    )

    async def call() -> object:
        if len(records) > 10_000:
            records.clear()
        result = await service.complete(req)
        if result.provider != "openai":  # a fallback would measure another provider, not the router
            raise RuntimeError(f"the router answered from {result.provider}: {result.decision.reasons}")
        return result

    async def close() -> None:
        for fn in closing:
            await fn()

    return call, close


async def vapora_grpc_client(url: str, tmp: Path) -> tuple[Call, Callable[[], Awaitable[None]]]:
    from pydantic import SecretStr

    from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
    from vapora_core.grpc import channel
    from vapora_llm_router.app import RouterApp
    from vapora_llm_router.settings import RouterSettings
    from vapora_testing.nats import NatsServer

    nats = NatsServer(tmp / "nats", log_file=tmp / "nats.log").start()
    settings = RouterSettings(
        config_dir=_router_config(tmp),
        openai_api_key=SecretStr("bench-key"),
        openai_base_url=url,
        nats_url=nats.url,
        store_url=f"surrealkv://{tmp / 'store'}",
        grpc_port=0,
        shutdown_grace_s=1.0,
    )
    app = RouterApp(settings)
    await app.start()
    ch = channel(f"127.0.0.1:{app.grpc_port}", timeout=10.0)
    stub = llm_pb2_grpc.LlmRouterStub(ch)
    req = llm_pb2.CompleteRequest(
        request_id="bench",
        workspace_id="ws",
        role="developer",
        task_type="coding",
        max_tokens=64,
        messages=[llm_pb2.ChatMessage(role=MESSAGES[0]["role"], content=MESSAGES[0]["content"])],
    )

    async def call() -> object:
        reply = await stub.Complete(req)
        if reply.provider != "openai":  # a fallback would measure another provider, not the router
            raise RuntimeError(f"the router answered from {reply.provider}: {list(reply.decision.reasons)}")
        return reply

    async def close() -> None:
        await ch.close()
        await app.stop()
        nats.stop()

    return call, close


async def litellm_client(url: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    # typed as Any: the comparison drives litellm as its docs show, not against its stubs
    litellm: Any = importlib.import_module("litellm")
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    router = litellm.Router(
        model_list=[
            {
                "model_name": "gpt-4o",
                "litellm_params": {"model": "openai/gpt-4o", "api_base": f"{url}/v1", "api_key": "bench-key"},
            }
        ],
        num_retries=0,
    )

    async def call() -> object:
        return await router.acompletion(model="gpt-4o", messages=MESSAGES, max_tokens=64, temperature=0.0)

    async def close() -> None:
        return None

    return call, close


# -- measuring ----------------------------------------------------------------------------


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


async def run(requests: int, rounds: int, skip_grpc: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        port_file = tmp / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])  # noqa: ASYNC220
        try:
            for _ in range(200):
                if port_file.exists() and port_file.read_text():
                    break
                await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            pids: dict[str, int] = {}
            clients: dict[str, tuple[Call, Callable[[], Awaitable[None]]]] = {
                "direct": await direct_client(url),
                "vapora": await vapora_client(url, tmp, pids),
                "vapora-kv": await vapora_client(url, tmp, pids, shared=True),
            }
            if not skip_grpc:
                clients["vapora-grpc"] = await vapora_grpc_client(url, tmp)
            try:
                clients["litellm"] = await litellm_client(url)
            except ImportError:
                print("litellm is not installed: run with `uv run --group bench python bench/bench_router.py`")
            samples: dict[str, list[float]] = {name: [] for name in clients}
            cpu: dict[str, dict[str, float]] = {name: {} for name in clients}  # client -> process -> s
            for name, (call, _) in clients.items():  # warm up connections, imports, caches
                for _ in range(50):
                    await call()
            per_round = max(1, requests // rounds)
            for _ in range(rounds):
                for name, (call, _) in clients.items():
                    out = samples[name]
                    before = {"bench process": time.process_time()}
                    before.update({proc: cpu_seconds(pid) or 0.0 for proc, pid in pids.items()})
                    for _ in range(per_round):
                        t0 = time.perf_counter()
                        await call()
                        out.append((time.perf_counter() - t0) * 1000)
                    spent = cpu[name]
                    own = time.process_time() - before["bench process"]
                    spent["bench process"] = spent.get("bench process", 0.0) + own
                    for proc, pid in pids.items():
                        spent[proc] = spent.get(proc, 0.0) + (cpu_seconds(pid) or 0.0) - before[proc]
            for _, close in clients.values():
                await close()
        finally:
            server.terminate()
            server.wait(timeout=10)

    base50, base99 = pct(samples["direct"], 50), pct(samples["direct"], 99)
    print(
        f"\nrouter overhead over a direct call to the same local OpenAI-format server "
        f"({len(samples['direct'])} sequential requests per client, {rounds} interleaved rounds)\n"
    )
    print(f"{'client':<12} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'overhead p50':>13} {'overhead p99':>13}")
    figures = Figures("bench_router")
    for name, s in samples.items():
        p50, p99 = pct(s, 50), pct(s, 99)
        over = "" if name == "direct" else f"{p50 - base50:>13.3f} {p99 - base99:>13.3f}"
        print(f"{name:<12} {p50:>8.3f} {p99:>8.3f} {statistics.fmean(s):>8.3f} {over}")
        figures.add(f"{name}: latency p50", p50, "ms")
        figures.add(f"{name}: latency p99", p99, "ms")
        if name != "direct":
            figures.add(f"{name}: overhead p50 over direct", p50 - base50, "ms")
            figures.add(f"{name}: overhead p99 over direct", p99 - base99, "ms")
    print("\nCPU per call (µs), by process:")
    for name in ("vapora", "vapora-kv"):
        for proc, seconds in cpu[name].items():
            if seconds > 0 or proc == "bench process":
                per_call = seconds / len(samples[name]) * 1e6
                print(f"  {name:<10} {proc:<28} {per_call:>9,.0f}")
                figures.add(f"{name}: CPU per call of {proc}", per_call, "µs")
    shared = pct(samples["vapora-kv"], 50) - pct(samples["vapora"], 50)
    print(
        f"\nshared budget store (JetStream KV, compare-and-set) adds {shared:.3f} ms p50 over the "
        f"in-process store (target ≤ 1 ms)"
    )
    figures.add("shared budget store (vapora-kv) p50 over the in-process one (vapora)", shared, "ms", at_most(1.0))
    if "litellm" in samples:
        ours = pct(samples["vapora"], 50) - base50
        theirs = pct(samples["litellm"], 50) - base50
        ratio = ours / theirs if theirs > 0 else float("nan")
        print(
            f"\nvapora in-process overhead p50 = {ours:.3f} ms; litellm Router = {theirs:.3f} ms; "
            f"ratio {ratio:.2f} (target ≤ 0.5)"
        )
        figures.add("vapora in-process overhead p50 / litellm Router's", ratio, "ratio", at_most(0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="sequential requests per client")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-grpc", action="store_true", help="skip the full-service gRPC figure")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    asyncio.run(run(args.requests, args.rounds, args.no_grpc))


if __name__ == "__main__":
    main()
