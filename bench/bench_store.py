"""The embedded SurrealDB engine's CPU per round trip and per assignment row.

    uv run python bench/bench_store.py [--engine surrealkv|mem] [--sdk-codec]

What the coordinator's group commit is tuned against (``batching.py``): process CPU (the
Python thread plus the engine's own threads) of a trivial query, and of ``write_each`` carrying
1, 4, 16 and 64 first assignments or finishes, shaped as the coordinator writes them — on an
empty store, then again once it holds 20,000 finished assignments (a row costs the engine more
as the store grows; a coordinator's store is rarely empty). ``--engine mem`` runs the same on the
in-memory engine, to show what durability costs (the coordinator needs it: an assignment must
survive a crash). Each figure is followed by the part of it spent in the Python thread (encoding
the request, decoding the answer); the rest is the engine's own threads. ``--sdk-codec`` runs
the same with the store's fast path off (``Store(fast_path=False)``): every query through the
SDK's ``query_raw`` and its own (pure Python) CBOR codec, in place of ``vapora_core.surreal_engine``.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from figures import Figures

from vapora_core.store import Store
from vapora_swarm_coordinator import ranking
from vapora_swarm_coordinator.repository import NAMESPACE, SCHEMA, AssignmentRepository, Create, Finish, Write
from vapora_swarm_coordinator.scoring import Candidate, Score

PREFILL = 20_000
ROUND_TRIPS = 2_000
RANKING = ranking.pack(
    (Candidate(f"agent-{i:04d}", 3, None), Score(0.7235, 3, 0.180875, 0.73, 0.85, 0.6356625, True)) for i in range(5)
)


def row(task_id: str) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "workspace_id": "ws1",
        "task_type": "coding",
        "agent_id": "agent-0001",
        "job_id": f"job-{task_id}-1",
        "attempt": 1,
        "state": "assigned",
        "ranking": RANKING,
        "reason": "highest score",
        "assigned_s": time.time(),
        "task": bytes(120),
    }


def done() -> dict[str, Any]:
    return {"state": "done", "execution_id": "ex", "provider": "offline", "model": "m", "finished_s": 0.0, "error": ""}


figures = Figures("bench_store")


async def amain(engine: str, sdk_codec: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = "mem://" if engine == "mem" else f"surrealkv://{Path(tmp) / 'coordinator'}"
        store = Store(url, NAMESPACE, fast_path=not sdk_codec)
        await store.open(SCHEMA)
        codec = "vapora_core.surreal_engine" if store.fast_path else "the SDK's query_raw and CBOR codec"
        print(f"engine: {url.split('://', maxsplit=1)[0]}; requests through {codec}")
        repo = AssignmentRepository(store)
        try:
            cpu, thread = time.process_time(), time.thread_time()
            for _ in range(ROUND_TRIPS):
                await store.query("RETURN 1")
            cpu, thread = time.process_time() - cpu, time.thread_time() - thread
            per = 1e6 / ROUND_TRIPS
            print(f"round trip (RETURN 1): {cpu * per:,.0f} µs of CPU (Python {thread * per:,.0f})")
            figures.add(f"{engine}: round trip (RETURN 1), CPU", cpu * per, "µs")
            figures.add(f"{engine}: round trip (RETURN 1), Python thread", thread * per, "µs")
            await measure_rows(repo, "empty store", engine)
            for b in range(PREFILL // 250):
                ids = [f"p{b}-{i}" for i in range(250)]
                await repo.write_each([Create(row(t)) for t in ids])
                await repo.write_each([Finish(t, f"job-{t}-1", done()) for t in ids])
            await measure_rows(repo, f"{PREFILL:,} rows stored", engine)
        finally:
            await store.close()


async def measure_rows(repo: AssignmentRepository, label: str, engine: str) -> None:
    print(label)
    for n in (1, 4, 16, 64):
        rounds = max(5, 320 // n)
        spent = {"create": [0.0, 0.0], "finish": [0.0, 0.0]}  # process CPU, Python thread CPU
        for r in range(rounds):
            ids = [f"{label[:5]}{n}-{r}-{i}" for i in range(n)]
            writes: list[tuple[str, list[Write]]] = [
                ("create", [Create(row(t)) for t in ids]),
                ("finish", [Finish(t, f"job-{t}-1", done()) for t in ids]),
            ]
            for kind, items in writes:
                cpu, thread = time.process_time(), time.thread_time()
                await repo.write_each(items)
                spent[kind][0] += time.process_time() - cpu
                spent[kind][1] += time.thread_time() - thread
        per_row = {kind: [s / rounds / n * 1e6 for s in pair] for kind, pair in spent.items()}
        print(
            f"  batch {n:3d}: "
            + ", ".join(f"{kind} {cpu:4,.0f} µs/row (Python {py:3,.0f})" for kind, (cpu, py) in per_row.items())
            + " of CPU"
        )
        for kind, (cpu, py) in per_row.items():
            figures.add(f"{engine}, {label}: {kind} in batches of {n}, CPU per row", cpu, "µs")
            figures.add(f"{engine}, {label}: {kind} in batches of {n}, Python thread per row", py, "µs")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="the embedded SurrealDB engine's CPU per assignment row")
    ap.add_argument("--engine", choices=("surrealkv", "mem"), default="surrealkv")
    ap.add_argument(
        "--sdk-codec", action="store_true", help="Fast path off: every query through the SDK's query_raw and codec."
    )
    args = ap.parse_args()
    asyncio.run(amain(args.engine, args.sdk_codec))
