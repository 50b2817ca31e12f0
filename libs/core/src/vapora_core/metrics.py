"""Prometheus metrics shared by every service, and the ``/metrics`` + ``/readyz`` endpoint.

Service-specific metrics live in their service; the ones here are the ones every
service exports the same way. Every name is listed in docs/metrics.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from vapora_core.http_site import start_site

SERVICE_INFO = Gauge("vapora_service_info", "Constant 1, labelled with the service.", ["service"])
SERVICE_READY = Gauge("vapora_service_ready", "1 while the service is ready to take work.", ["service"])

BUS_MESSAGES = Counter(
    "vapora_bus_messages_total",
    "Messages handled by a bus consumer, by outcome (ack, nak, dead_letter).",
    ["consumer", "outcome"],
)
BUS_HANDLE_SECONDS = Histogram(
    "vapora_bus_handle_seconds",
    "Time a consumer's handler took for one message.",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BUS_PUBLISHED = Counter(
    "vapora_bus_published_total",
    "Messages published, by stream (broadcast: core NATS, in no stream).",
    ["stream"],
)
BUS_RESENT = Counter(
    "vapora_bus_resent_total",
    "Published messages a NATS outage failed that were sent again, by how that ended (stored, failed).",
    ["outcome"],
)
DEAD_LETTERS = Counter(
    "vapora_dead_letters_total",
    "Payloads sent to the dead-letter stream, by consumer and kind of reason.",
    ["consumer", "kind"],
)
WRITE_BEHIND_FAILURES = Counter(
    "vapora_write_behind_failures_total",
    "Items put on a write-behind queue (no caller waiting) that could not be written, even alone.",
    ["writer"],
)
KV_CONFLICTS = Counter(
    "vapora_kv_conflicts_total",
    "Compare-and-set writes to a JetStream key-value bucket that lost their race (read again, tried again).",
    ["bucket"],
)
GRPC_REQUESTS = Counter(
    "vapora_grpc_server_requests_total", "gRPC requests served, by method and status code.", ["method", "code"]
)
GRPC_SECONDS = Histogram(
    "vapora_grpc_server_seconds",
    "gRPC request latency, by method.",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


async def metrics_handler(_: web.Request) -> web.Response:
    body = generate_latest()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


@dataclass(slots=True)
class Readiness:
    """What ``/readyz`` answers: ready once the service has started and waits for nothing else
    (``waiting_for``: what it still needs before it can do its work), not while it stops."""

    service: str
    started: bool = False
    waiting_for: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.started and not self.waiting_for

    def set(self, started: bool) -> None:
        self.started = started
        self._export()

    def wait_for(self, what: str) -> None:
        """Not ready until :meth:`have` ``what``."""
        if what not in self.waiting_for:
            self.waiting_for.append(what)
        self._export()

    def have(self, what: str) -> None:
        if what in self.waiting_for:
            self.waiting_for.remove(what)
        self._export()

    def _export(self) -> None:
        SERVICE_READY.labels(self.service).set(1 if self.ready else 0)


def add_ops_routes(app: web.Application, readiness: Readiness) -> None:
    """Mount ``/metrics``, ``/healthz`` and ``/readyz`` on ``app``."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": readiness.service})

    async def readyz(_: web.Request) -> web.Response:
        body: dict[str, object] = {"ready": readiness.ready, "service": readiness.service}
        if readiness.waiting_for:
            body["waiting_for"] = readiness.waiting_for
        return web.json_response(body, status=200 if readiness.ready else 503)

    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


class OpsServer:
    """A small HTTP server with the ops routes, for services with no HTTP API of their own."""

    def __init__(self, readiness: Readiness, host: str, port: int) -> None:
        self._readiness = readiness
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = port

    async def start(self) -> None:
        SERVICE_INFO.labels(self._readiness.service).set(1)
        app = web.Application()
        add_ops_routes(app, self._readiness)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = await start_site(self._runner, self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
