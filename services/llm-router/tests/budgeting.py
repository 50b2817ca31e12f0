"""What the budget tests share: config snippets, requests, metric readings."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from vapora_llm_router.providers.base import ChatTurn
from vapora_llm_router.routing import RouteRequest

OFFLINE_OFF = '\n[providers.offline]\nmodel = "offline-deterministic"\nenabled = false\n'
IN_CENTS, OUT_CENTS = 3.0 / 10_000, 15.0 / 10_000  # claude-sonnet-4-5 in conftest's prices, ¢ a token


def only_paid_providers(config_dir: Path) -> None:
    """No offline last resort: a call no paid provider can take is refused."""
    (config_dir / "router.toml").write_text((config_dir / "router.toml").read_text() + OFFLINE_OFF)


def set_weekly(config_dir: Path, cents: float, *, extra: str = "") -> None:
    (config_dir / "budget.toml").write_text(f"{extra}\n[roles.developer]\nweekly_cents = {cents}\n")


def req(**kw: object) -> RouteRequest:
    base: dict[str, object] = {
        "request_id": "r",
        "workspace_id": "ws1",
        "role": "developer",
        "task_type": "coding",
        "messages": (ChatTurn("user", "implement a parser"),),
        "max_tokens": 200,
    }
    base.update(kw)
    return RouteRequest(**base)  # type: ignore[arg-type]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
