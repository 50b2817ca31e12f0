"""The llm-router process: config + watcher, providers, store, bus, gRPC server."""

from __future__ import annotations

import logging

from vapora.llm.v1 import llm_pb2_grpc
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_core.metrics import Readiness
from vapora_core.store import Store
from vapora_llm_router.budget import WINDOWS, window_start
from vapora_llm_router.grpc_server import SERVICE_NAME, LlmRouterServicer
from vapora_llm_router.providers import Provider, build_providers
from vapora_llm_router.reload import ConfigWatcher
from vapora_llm_router.repository import NAMESPACE, SCHEMA, UsageRepository
from vapora_llm_router.service import RouterService
from vapora_llm_router.settings import RouterSettings
from vapora_llm_router.usage import UsageWriter

log = logging.getLogger("vapora.llm_router")


class RouterApp:
    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        self.readiness = Readiness(settings.service_name)
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.grpc: GrpcServer | None = None
        self.service: RouterService | None = None
        self.watcher: ConfigWatcher | None = None
        self.usage: UsageWriter | None = None
        self._providers: dict[str, Provider] = {}

    @property
    def grpc_port(self) -> int:
        return self.grpc.port if self.grpc is not None else 0

    async def start(self) -> None:
        s = self.settings
        self.watcher = ConfigWatcher(
            (s.router_file, s.budget_file, s.resolved_prices_file),
            self._apply_config,
            interval=s.reload_interval_s,
        )
        config = self.watcher.load()  # ConfigError: the process says which file and field, exits 1
        self._providers, unavailable = build_providers(s)
        for name, why in unavailable.items():
            log.info("provider %s unavailable: %s", name, why)

        self.store = Store.from_settings(s, NAMESPACE)
        await self.store.open(SCHEMA)
        repo = UsageRepository(self.store)
        self.bus = Bus.from_settings(s)
        await self.bus.start()
        self.usage = UsageWriter(repo, self.bus, flush_s=s.usage_flush_s)

        self.service = RouterService(config, self._providers, unavailable, usage_sink=self.usage.submit)
        now = self.service.ledger.now()
        for window in WINDOWS:
            for role, cents in (await repo.spent_since(window_start(window, now))).items():
                self.service.ledger.load_spent(role, window, now, cents)
        self.service.ledger.publish_gauges()
        self.usage.start()
        self.watcher.start()

        self.grpc = GrpcServer(
            s.service_name,
            s.grpc_host,
            s.grpc_port,
            [(llm_pb2_grpc.add_LlmRouterServicer_to_server, LlmRouterServicer(self.service), SERVICE_NAME)],
        )
        await self.grpc.start()
        log.info("llm-router serving gRPC on %s:%d", s.grpc_host, self.grpc.port)

    def _apply_config(self, config: object) -> None:
        from vapora_llm_router.config import Config

        if self.service is not None and isinstance(config, Config):
            self.service.apply_config(config)

    async def reload(self) -> None:
        """SIGHUP: re-read the config files now; an invalid file raises and changes nothing."""
        if self.watcher is not None:
            self.watcher.reload()

    async def stop(self) -> None:
        if self.watcher is not None:
            await self.watcher.stop()
        if self.grpc is not None:
            await self.grpc.stop(self.settings.shutdown_grace_s)
            self.grpc = None
        if self.usage is not None:
            await self.usage.stop()
        if self.bus is not None:
            await self.bus.stop()
            self.bus = None
        for provider in self._providers.values():
            await provider.aclose()
        if self.store is not None:
            await self.store.close()
            self.store = None
