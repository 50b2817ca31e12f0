"""The fleet launcher's job-token keys: one pair per run dir, each half to the services that need it."""

from __future__ import annotations

from pathlib import Path

from vapora_core.jobtoken import JobClaims, JobSigner, JobVerifier
from vapora_testing.fleet import SERVICES, Fleet


def test_the_coordinator_signs_and_the_gateway_and_router_verify_with_one_pair(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path / "run")
    fleet.ports = {spec.name: (1, 2) for spec in SERVICES}
    fleet.extra_ports = {"VAPORA_MCP_HTTP_PORT": 3}
    coordinator = fleet.service_environment("swarm-coordinator")
    gateway = fleet.service_environment("mcp-gateway")
    router = fleet.service_environment("llm-router")
    runtime = fleet.service_environment("agent-runtime")

    assert "VAPORA_JOB_VERIFY_KEY" not in coordinator
    assert "VAPORA_JOB_SIGNING_KEY" not in gateway and "VAPORA_JOB_SIGNING_KEY" not in router
    assert "VAPORA_JOB_SIGNING_KEY" not in runtime and "VAPORA_JOB_VERIFY_KEY" not in runtime
    assert gateway["VAPORA_JOB_VERIFY_KEY"] == router["VAPORA_JOB_VERIFY_KEY"]

    claims = JobClaims.issue(agent_id="a", role="r", workspace_id="w", task_id="t", job_id="j", lifetime_s=60)
    token = JobSigner.from_setting(coordinator["VAPORA_JOB_SIGNING_KEY"]).sign(claims)
    assert JobVerifier.from_setting(gateway["VAPORA_JOB_VERIFY_KEY"]).verify(token) == claims

    private = Path(coordinator["VAPORA_JOB_SIGNING_KEY"].removeprefix("@"))
    assert private.stat().st_mode & 0o077 == 0  # the private key is readable by its owner only
    before = private.read_text()
    fleet.service_environment("swarm-coordinator")
    assert private.read_text() == before  # one pair per run dir, not one per service start
