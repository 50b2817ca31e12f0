"""Both learning services start with `python -m`, answer gRPC health and /readyz, exit 0 on SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest

from vapora_core.grpc import check_health
from vapora_testing.process import ServiceProcess, service_env


@pytest.mark.parametrize("module", ["vapora_swarm_coordinator", "vapora_knowledge_graph"])
async def test_service_process_serves_health_and_stops_cleanly_on_sigterm(
    module: str, nats_url: str, tmp_path: Path
) -> None:
    env = service_env(nats_url, tmp_path, VAPORA_REGISTRY_ADDR="127.0.0.1:1", VAPORA_KG_ADDR="127.0.0.1:1")
    service = ServiceProcess(module, env, tmp_path, tmp_path / "service.log")
    try:
        await service.start()  # /readyz answered 200
        assert await check_health(service.addr)
        assert service.terminate() == 0, service.tail()
    finally:
        service.kill()
