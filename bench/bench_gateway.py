"""Benchmark: POST /api/v1/tasks requests/s and latency, JWT verification on.

Starts a real nats-server (JetStream) and the api-gateway as its own process (embedded
SurrealDB), registers a user, then drives POST /api/v1/tasks with CONNECTIONS concurrent
keep-alive connections for DURATION seconds, after a warm-up. The load generator is `wrk`
(cheap in CPU, so it takes little from the gateway on a small machine) when it is installed,
else an aiohttp client (BENCH_GENERATOR=aiohttp forces it). Every request carries a JWT the
gateway verifies. Target on this machine: >= 1,500 req/s with p99 <= 30 ms. Bounded < 60 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from figures import Figures, at_least, at_most

from vapora_testing.nats import NatsServer
from vapora_testing.polling import eventually_sync
from vapora_testing.ports import free_port
from vapora_testing.process import ready

ROOT = Path(__file__).resolve().parents[1]
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
DURATION = float(os.environ.get("BENCH_SECONDS", "10"))
WARMUP = float(os.environ.get("BENCH_WARMUP_SECONDS", "2"))


async def _drive(base: str, token: str) -> tuple[int, int, list[float], float]:
    url = f"{base}/api/v1/tasks"
    headers = {"Authorization": f"Bearer {token}"}
    body = BODY
    latencies: list[float] = []
    errors = 0
    ok = 0
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:
        measuring = False
        stop_at = time.perf_counter() + WARMUP + DURATION

        async def worker() -> None:
            nonlocal errors, ok
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                async with session.post(url, json=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
                if measuring:
                    latencies.append(time.perf_counter() - t0)
                    if status == 201:
                        ok += 1
                    else:
                        errors += 1

        tasks = [asyncio.create_task(worker()) for _ in range(CONNECTIONS)]
        await asyncio.sleep(WARMUP)
        measuring = True
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return ok, errors, latencies, elapsed


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%.1f %%.1f %%.1f %%.1f\\n", summary.requests, summary.duration,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""
BODY = {"title": "Benchmark task", "description": "measure the gateway", "task_type": "coding", "priority": "normal"}


def _wrk(base: str, token: str, tmpdir: Path) -> tuple[int, int, list[float], float]:
    """(ok, errors, [p50, p90, p99, max] in seconds, elapsed) measured by wrk after a warm-up run."""
    script = tmpdir / "post.lua"
    script.write_text(WRK_SCRIPT % {"body": json.dumps(json.dumps(BODY)), "token": token})
    url = f"{base}/api/v1/tasks"
    common = ["wrk", "-t", "1", "-c", str(CONNECTIONS), "-s", str(script)]
    subprocess.run([*common, "-d", f"{max(1, int(WARMUP))}s", url], check=True, capture_output=True, timeout=60)
    out = subprocess.run(
        [*common, "-d", f"{int(DURATION)}s", url], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    n, dur_us, bad_status, sock_errors, p50, p90, p99, mx = line.split()[1:]
    errors = int(bad_status) + int(sock_errors)
    lat = [float(v) / 1e6 for v in (p50, p90, p99, mx)]
    return int(n) - int(bad_status), errors, lat, int(dur_us) / 1e6


async def _register(base: str) -> str:
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{base}/api/v1/auth/register", json={"email": "bench@example.com", "password": "benchmark-password"}
        ) as r,
    ):
        assert r.status == 201, await r.text()
        return str((await r.json())["access_token"])


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(lat: list[float], p: float) -> float:
    return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")


def main() -> None:
    generator = os.environ.get("BENCH_GENERATOR") or ("wrk" if shutil.which("wrk") else "aiohttp")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="vapora-bench-") as tmp:
        tmpdir = Path(tmp)
        nats = NatsServer(tmpdir / "jetstream", log_file=tmpdir / "nats.log").start()
        port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "VAPORA_NATS_URL": nats.url,
                "VAPORA_DATA_DIR": str(tmpdir / "data"),
                "VAPORA_HTTP_PORT": str(port),
                "VAPORA_CONFIG_DIR": str(ROOT / "config"),
                "VAPORA_LOG_LEVEL": "WARNING",
                "VAPORA_RATE_LIMIT_USER": "10000000",
                "VAPORA_RATE_LIMIT_IP": "10000000",
            }
        )
        log = (tmpdir / "gateway.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "vapora_api_gateway"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp
        )
        try:
            eventually_sync(lambda: ready(port), timeout=30, what="api-gateway to be ready")
            base = f"http://127.0.0.1:{port}"
            token = asyncio.run(_register(base))
            cpu_before = _cpu_s(proc.pid)
            if generator == "wrk":
                ok, errors, summary, elapsed = _wrk(base, token, tmpdir)
            else:
                ok, errors, lat, elapsed = asyncio.run(_drive(base, token))
                lat.sort()
                summary = [_pct(lat, 0.50), _pct(lat, 0.90), _pct(lat, 0.99), lat[-1] if lat else float("nan")]
            cpu = _cpu_s(proc.pid) - cpu_before  # includes the warm-up
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            nats.stop()
            if proc.returncode != 0:
                print((tmpdir / "gateway.log").read_text(errors="replace")[-2000:])
    p50, p90, p99, mx = (v * 1000 for v in summary)
    rps = (ok + errors) / elapsed
    print("POST /api/v1/tasks (JWT verified, Cedar checked, stored, published to JetStream)")
    print(f"  generator {generator}, connections {CONNECTIONS}, measured {elapsed:.1f} s after {WARMUP:.0f} s warm-up")
    print(f"  requests/s  {rps:,.0f}   (201: {ok}, other: {errors})")
    print(f"  latency ms  p50 {p50:.1f}   p90 {p90:.1f}   p99 {p99:.1f}   max {mx:.1f}")
    print(f"  gateway CPU {cpu:.1f} s over warm-up + run ({os.cpu_count()} CPUs; load average before: {load})")
    print(f"  target      >= 1,500 req/s, p99 <= 30 ms: {'met' if rps >= 1500 and p99 <= 30 else 'NOT met'}")
    print(f"  gateway exit code {proc.returncode}")
    figures = Figures("bench_gateway")
    figures.add(f"POST /api/v1/tasks, {CONNECTIONS} connections ({generator})", rps, "req/s", at_least(1500))
    for name, value, target in (("p50", p50, None), ("p90", p90, None), ("p99", p99, at_most(30)), ("max", mx, None)):
        figures.add(f"latency {name}", value, "ms", target)
    figures.add("gateway CPU over warm-up and run", cpu, "s")


if __name__ == "__main__":
    main()
