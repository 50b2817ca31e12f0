"""The api-gateway process: store, bus, HTTP server; built from settings, no I/O at import time."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from aiohttp import web

from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway import openapi
from vapora_api_gateway.accounts import Accounts
from vapora_api_gateway.audit import AuditLog
from vapora_api_gateway.clients import Clients
from vapora_api_gateway.context import GATEWAY, Gateway, json_response
from vapora_api_gateway.http_server import GatewayRunner
from vapora_api_gateway.login_throttle import LoginThrottle
from vapora_api_gateway.middleware import guard, observe
from vapora_api_gateway.policy import Authorizer
from vapora_api_gateway.ratelimit import RateLimiter
from vapora_api_gateway.realtime import EventSource
from vapora_api_gateway.repository import NAMESPACE, SCHEMA, Repository
from vapora_api_gateway.routes import Route
from vapora_api_gateway.routes import auth as auth_routes
from vapora_api_gateway.routes import events as event_routes
from vapora_api_gateway.routes import platform as platform_routes
from vapora_api_gateway.routes import projects as project_routes
from vapora_api_gateway.routes import session as session_routes
from vapora_api_gateway.routes import tasks as task_routes
from vapora_api_gateway.routes import workflows as workflow_routes
from vapora_api_gateway.routes import workspaces as workspace_routes
from vapora_api_gateway.security import Passwords, Tokens
from vapora_api_gateway.service import Tasks
from vapora_api_gateway.settings import GatewaySettings
from vapora_api_gateway.subscribers import StatusEvents
from vapora_api_gateway.task_types import TaskTypeCheck
from vapora_api_gateway.ui import pages as ui_pages
from vapora_core import kv
from vapora_core.bus import CONSUMERS, Bus
from vapora_core.bus.topology import BUCKETS
from vapora_core.http_site import start_site
from vapora_core.metrics import SERVICE_INFO, Readiness, add_ops_routes
from vapora_core.parts import ServiceApp
from vapora_core.store import Store

log = logging.getLogger("vapora.gateway")

ROUTES: tuple[Route, ...] = (
    *auth_routes.ROUTES,
    *session_routes.ROUTES,
    *workspace_routes.ROUTES,
    *project_routes.ROUTES,
    *task_routes.ROUTES,
    *platform_routes.ROUTES,
    *event_routes.ROUTES,
    *workflow_routes.ROUTES,
)


def jwt_secret(settings: GatewaySettings) -> str:
    """The configured key, or one generated once and kept beside the embedded store."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / f"{settings.service_name}.jwt-key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    return key


def build_web_app(gateway: Gateway, readiness: Readiness, max_body_bytes: int) -> web.Application:
    app = web.Application(middlewares=[observe, guard], client_max_size=max_body_bytes)
    app[GATEWAY] = gateway
    for route in ROUTES:
        app.router.add_route(route.method, route.full_path, route.handler)
    document = openapi.build(ROUTES)
    document["paths"]["/api/v1/openapi.json"] = {
        "get": {
            "operationId": "meta_openapi",
            "summary": "This document",
            "tags": ["meta"],
            "security": [],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    }

    async def serve_openapi(_: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/api/v1/openapi.json", serve_openapi)
    add_ops_routes(app, readiness)
    ui_pages.add_routes(app)
    return app


class GatewayApp(ServiceApp):
    def __init__(self, settings: GatewaySettings) -> None:
        super().__init__(settings)
        self.settings = settings
        self.port = settings.http_port
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.gateway: Gateway | None = None
        self.web_app: web.Application | None = None

    async def start(self) -> None:
        """Start the parts; each registers its stop, so :meth:`stop` runs these six steps, each
        only once the one before has let go:

        1. stop taking HTTP requests and end the event streams (clients resume later);
        2. let the requests in flight finish (cancelled after ``shutdown_grace_s``);
        3. write the task rows still being batched;
        4. stop the bus (unacked events go back to JetStream);
        5. write the queued audit entries; close the gRPC channels;
        6. wait for store queries still running, then close the store.
        """
        s, parts = self.settings, self.parts
        SERVICE_INFO.labels(s.service_name).set(1)
        authorizer = Authorizer(s.policy_dir)
        tokens = Tokens(jwt_secret(s), access_ttl_s=s.access_ttl_s, refresh_ttl_s=s.refresh_ttl_s)
        self.store = await parts.store(Store.from_settings(s, NAMESPACE), SCHEMA)  # 6
        repo = Repository(self.store)
        if ordered := await repo.order_legacy_tasks():
            log.info("gave %d tasks stored before the board's order their order key", ordered)
        self.bus = bus = Bus.from_settings(s)
        tasks = Tasks(repo, bus)
        passwords = Passwords(time_cost=s.argon2_time_cost, memory_kib=s.argon2_memory_kib)
        await passwords.dummy_hash()  # made now, so the first unknown-email login costs what the others do
        clients = Clients(
            s.registry_addr,
            s.coordinator_addr,
            s.router_addr,
            s.kg_addr,
            mcp=s.mcp_addr,
            timeout=s.grpc_timeout_s,
            attach_timeout=s.repo_attach_timeout_s,
        )
        parts.callback("the gRPC channels", clients.close)  # 5
        audit = AuditLog(repo)
        parts.callback("the audit log", audit.stop)  # 5
        events = StatusEvents(tasks)
        await bus.subscribe(CONSUMERS.GATEWAY_EVENTS, tasks_pb2.TaskStatusChanged, events.on_status, workers=4)
        await bus.subscribe(
            CONSUMERS.GATEWAY_WORKFLOW_EVENTS, coordinator_pb2.WorkflowRunChanged, events.on_workflow, workers=2
        )
        await parts.bus(bus)  # 4
        parts.callback("the task writer", repo.task_writer.close)  # 3
        counters = await kv.Bucket.open(bus.js, BUCKETS.RATE_LIMITS, replicas=s.jetstream_replicas)
        logins = await kv.Bucket.open(bus.js, BUCKETS.LOGIN_THROTTLE, replicas=s.jetstream_replicas)

        def connected() -> bool:
            return bus.connected

        self.gateway = Gateway(
            accounts=Accounts(
                repo,
                passwords,
                tokens,
                LoginThrottle(
                    logins,
                    account_free=s.login_free_attempts,
                    address_free=s.login_free_attempts_ip,
                    backoff_s=s.login_backoff_s,
                    backoff_max_s=s.login_backoff_max_s,
                    connected=connected,
                ),
            ),
            tasks=tasks,
            authorizer=authorizer,
            clients=clients,
            task_types=TaskTypeCheck(clients),
            audit=audit,
            events=EventSource(bus),
            user_limiter=RateLimiter(
                counters, s.rate_limit_user, s.rate_window_s, "user", kind="user", connected=connected
            ),
            ip_limiter=RateLimiter(
                counters, s.rate_limit_ip, s.rate_window_s, "client address", kind="ip", connected=connected
            ),
        )
        self.web_app = build_web_app(self.gateway, self.readiness, s.max_body_bytes)
        runner = GatewayRunner(self.web_app, shutdown_timeout=s.shutdown_grace_s)
        await runner.setup()
        parts.callback("HTTP", runner.cleanup)  # 1 and 2
        parts.callback("the event streams", self.gateway.events.close)  # 1
        self.port = await start_site(runner, s.http_host, s.http_port, backlog=1024)
        log.info("api-gateway listening on http://%s:%d", s.http_host, self.port)
