"""The gateway as a process: SIGTERM under load stops it in order and it exits 0 (it once died of SIGABRT)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp

from vapora_testing.polling import eventually
from vapora_testing.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


async def test_sigterm_under_load_exits_0(nats_url: str, tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "VAPORA_NATS_URL": nats_url,
        "VAPORA_DATA_DIR": str(tmp_path / "data"),
        "VAPORA_HTTP_PORT": str(port),
        "VAPORA_CONFIG_DIR": str(ROOT / "config"),
        "VAPORA_LOG_LEVEL": "WARNING",
        "VAPORA_ARGON2_TIME_COST": "1",
        "VAPORA_ARGON2_MEMORY_KIB": "1024",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vapora_api_gateway",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as s:

        async def ready() -> bool:
            try:
                async with s.get(f"{base}/readyz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ready, timeout=20.0, interval=0.1, what="the gateway's /readyz")
        async with s.post(f"{base}/api/v1/auth/register", json={"email": "t@example.com", "password": "x" * 10}) as r:
            token = (await r.json())["access_token"]
        stop = asyncio.Event()
        answered = []

        async def load() -> None:
            while not stop.is_set():
                try:
                    async with s.post(
                        f"{base}/api/v1/tasks", json={"title": "t"}, headers={"Authorization": f"Bearer {token}"}
                    ) as r:
                        answered.append(r.status)
                except aiohttp.ClientError:
                    return

        workers = [asyncio.create_task(load()) for _ in range(16)]
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        stop.set()
        await asyncio.gather(*workers)
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
    assert answered and set(answered) <= {201, 503}, set(answered)
