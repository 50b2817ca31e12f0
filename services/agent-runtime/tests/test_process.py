"""agent-runtime as real processes: manifests picked up on SIGHUP, SIGKILL mid-job, bad config."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from operator import not_
from pathlib import Path
from typing import Any

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora_core.bus import Bus
from vapora_testing.polling import eventually

HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY

TRANSLATOR = """
id = "translator"
role = "translator"
preferred_provider = "gemini"
preferred_model = "gemini-2.0-flash"
max_concurrency = 1
system_prompt = "You translate technical documents."

[[capabilities]]
task_type = "translation"
proficiency = 0.9
"""


def test_a_malformed_manifest_stops_start_up_naming_the_file_and_the_field(config_dir: Path) -> None:
    bad = config_dir / "agents" / "tester.toml"
    bad.write_text(bad.read_text().replace("max_concurrency = 3", 'max_concurrency = "lots"'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAPORA_")}
    env.update(
        {"VAPORA_CONFIG_DIR": str(config_dir), "VAPORA_METRICS_PORT": "0", "VAPORA_NATS_URL": "nats://127.0.0.1:1"}
    )
    proc = subprocess.run(
        [sys.executable, "-m", "vapora_agent_runtime"],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=str(config_dir.parent),
    )
    assert proc.returncode == 1
    stderr = proc.stderr.decode()
    assert f"{bad}: max_concurrency:" in stderr, stderr[-2000:]


def agents_config(root: Path, **manifests: str) -> Path:
    """A config directory at ``root`` whose ``agents/`` holds ``<name>.toml`` for each manifest given."""
    (root / "agents").mkdir(parents=True)
    for name, text in manifests.items():
        (root / "agents" / f"{name}.toml").write_text(text)
    return root


async def test_a_new_manifest_on_sighup_registers_a_13th_agent_that_gets_work(
    spawn_runtime: Any,
    config_dir: Path,
    registry: str,
    bus: Bus,
    executions: list[kg_pb2.ExecutionRecorded],
    helpers: Any,
) -> None:
    proc = spawn_runtime(config_dir, "rt-hup")
    await _until_agents(helpers, registry, 12)

    (config_dir / "agents" / "translator.toml").write_text(TRANSLATOR)
    proc.send_signal(signal.SIGHUP)
    agents = await _until_agents(helpers, registry, 13)
    assert "translator" in {a.id for a in agents}
    [translator] = await helpers.list_agents(registry, capability="translation", status=HEALTHY)
    assert translator.runtime_id == "rt-hup"

    await helpers.publish_job(
        bus, helpers.make_job("j-tr", "translator", "t-tr", "Translate the README", "translation")
    )
    await eventually(lambda: len(executions) == 1, timeout=15.0, what="the translator's execution")
    assert (executions[0].agent_id, executions[0].task_type, executions[0].success) == (
        "translator",
        "translation",
        True,
    )

    proc.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc.wait, 30) == 0


async def test_sigkill_mid_job_the_job_is_redelivered_to_a_replica_and_completes_exactly_once(
    spawn_runtime: Any,
    config_dir: Path,
    tmp_path: Path,
    registry: str,
    bus: Bus,
    router: Any,
    executions: list[kg_pb2.ExecutionRecorded],
    helpers: Any,
) -> None:
    # Runtime A hosts the developer and a "solo" agent only it hosts; runtime B is a replica
    # of the developer only.
    developer = (config_dir / "agents" / "developer.toml").read_text()
    only_a = agents_config(
        tmp_path / "config-a", developer=developer, solo=TRANSLATOR.replace('"translator"', '"solo"')
    )
    only_b = agents_config(tmp_path / "config-b", developer=developer)

    servicer = router[0]
    proc_a = spawn_runtime(only_a, "rt-a")
    await _until_agents(helpers, registry, 2, status=HEALTHY)
    servicer.hold_first.add("t-kill")
    await helpers.publish_job(bus, helpers.make_job("j-kill", "developer", "t-kill", "Implement retries"))
    await asyncio.wait_for(servicer.arrival("t-kill").wait(), 15)  # runtime A holds the job

    proc_a.kill()
    await asyncio.to_thread(proc_a.wait, 10)
    # A's agents leave ListAgents(healthy) within the heartbeat timeout (1.5 s + a sweep).
    await _until_absent(helpers, registry, {"solo", "developer"}, timeout=6)
    assert {a.id for a in await helpers.list_agents(registry)} == {"solo", "developer"}  # unhealthy, not removed

    spawn_runtime(only_b, "rt-b")
    await eventually(lambda: len(executions) >= 1, timeout=30, what="the redelivered job")
    await asyncio.sleep(1.0)  # nothing else arrives
    per_job = Counter(e.job_id for e in executions)
    assert per_job == {"j-kill": 1}
    assert executions[0].success
    assert len([c for c in servicer.calls if c.task_id == "t-kill"]) == 2  # A's call (lost) and B's
    [developer] = await helpers.list_agents(registry, role="developer", status=HEALTHY)
    assert developer.runtime_id == "rt-b"


async def _until_agents(helpers: Any, registry: str, n: int, **filters: Any) -> list[agents_pb2.Agent]:
    agents: list[agents_pb2.Agent] = await eventually(
        lambda: helpers.list_agents(registry, **filters),
        timeout=30.0,
        interval=0.1,
        what=f"{n} agents matching {filters}",
        until=lambda agents: len(agents) == n,
    )
    return agents


async def _until_absent(helpers: Any, registry: str, agent_ids: set[str], timeout: float) -> None:
    async def still_healthy() -> set[str]:
        return agent_ids & {a.id for a in await helpers.list_agents(registry, status=HEALTHY)}

    await eventually(
        still_healthy, timeout=timeout, interval=0.1, what=f"{sorted(agent_ids)} to leave the healthy set", until=not_
    )


async def test_sigterm_mid_job_hands_the_job_back_at_once_and_exits_0(
    spawn_runtime: Any,
    tmp_path: Path,
    config_dir: Path,
    bus: Bus,
    router: Any,
    executions: list[kg_pb2.ExecutionRecorded],
    helpers: Any,
) -> None:
    dev_only = agents_config(tmp_path / "config-dev", developer=(config_dir / "agents" / "developer.toml").read_text())
    servicer = router[0]
    # A long ack wait: only an explicit nak can hand the job over within the test's patience.
    proc_a = spawn_runtime(dev_only, "rt-term-a", VAPORA_JOB_ACK_WAIT_S="300")
    servicer.hold_first.add("t-term")
    await helpers.publish_job(bus, helpers.make_job("j-term", "developer", "t-term", "Refactor the parser"))
    await asyncio.wait_for(servicer.arrival("t-term").wait(), 15)

    proc_a.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc_a.wait, 30) == 0
    assert executions == []

    spawn_runtime(dev_only, "rt-term-b", VAPORA_JOB_ACK_WAIT_S="300")
    await eventually(lambda: len(executions) >= 1, timeout=30, what="the handed-back job")
    await asyncio.sleep(0.5)
    assert Counter(e.job_id for e in executions) == {"j-term": 1}
