"""The llm-router process: config + watcher, providers, store, bus, gRPC server."""

from __future__ import annotations

import logging
import os
import secrets
import socket

from vapora.llm.v1 import llm_pb2_grpc
from vapora_core.aio import Periodic
from vapora_core.batching import Batcher
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_core.parts import ServiceApp
from vapora_core.store import Store
from vapora_llm_router import usage
from vapora_llm_router.budget import WINDOWS, BudgetLedger, window_start
from vapora_llm_router.budget_kv import KvStates
from vapora_llm_router.budget_store import BudgetStore
from vapora_llm_router.grpc_server import SERVICE_NAME, LlmRouterServicer
from vapora_llm_router.providers import build_providers
from vapora_llm_router.reload import ConfigWatcher
from vapora_llm_router.repository import NAMESPACE, SCHEMA, UsageRepository
from vapora_llm_router.service import RouterService, UsageRecord
from vapora_llm_router.settings import RouterSettings

log = logging.getLogger("vapora.llm_router")


def replica_name(service: str) -> str:
    """This process in the reservations it holds: host, pid and a random tag (a pid is reused)."""
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class RouterApp(ServiceApp):
    def __init__(self, settings: RouterSettings) -> None:
        super().__init__(settings)
        self.settings = settings
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.service: RouterService | None = None
        self.watcher: ConfigWatcher | None = None
        self.usage: Batcher[UsageRecord, None] | None = None

    async def start(self) -> None:
        """Start the parts; :meth:`stop` stops them in reverse: gRPC (requests in flight finish
        within the grace), the config watcher, the settlements those requests posted (written), the
        budget renewals and views, the usage queue (written and published), the bus,
        the store, the providers' HTTP clients."""
        s, parts = self.settings, self.parts
        self.watcher = ConfigWatcher(
            (s.router_file, s.budget_file, s.resolved_prices_file),
            self._apply_config,
            interval=s.reload_interval_s,
        )
        config = self.watcher.load()  # ConfigError: the process says which file and field, exits 1
        providers, unavailable = build_providers(s)
        for name, why in unavailable.items():
            log.info("provider %s unavailable: %s", name, why)
        for provider in providers.values():
            parts.callback(f"the {provider.name} client", provider.aclose)

        self.store = await parts.store(Store.from_settings(s, NAMESPACE), SCHEMA)
        repo = UsageRepository(self.store)
        self.bus = await parts.bus(Bus.from_settings(s))
        self.usage = usage.write_behind(repo, self.bus, flush_s=s.usage_flush_s)
        parts.callback("the usage queue", self.usage.close)

        states = await KvStates.open(self.bus.js, replicas=s.jetstream_replicas, linger_s=s.settlement_linger_s)
        parts.callback("the budget views", states.stop)
        budgets = BudgetStore(states, replica=replica_name(s.service_name), ttl_s=s.reservation_ttl_s)
        parts.periodic(Periodic("budget-renewals", s.reservation_ttl_s / 3, budgets.renew, wait_first=True))
        parts.periodic(Periodic("budget-view-sweep", 60.0, states.forget_idle, wait_first=True))
        parts.callback("the settlements", budgets.flush)  # those posted and those deferred, after gRPC stopped
        ledger = BudgetLedger(config.budget, store=budgets)
        self.service = RouterService(config, providers, unavailable, usage_sink=self.usage.put, ledger=ledger)
        now = ledger.now()
        for window in WINDOWS:
            for role, cents in (await repo.spent_since(window_start(window, now))).items():
                await ledger.seed_spent(role, window, now, cents)
        ledger.publish_gauges()
        self.watcher.start()
        parts.callback("the config watcher", self.watcher.stop)

        self.grpc = await parts.grpc(
            GrpcServer(
                s.service_name,
                s.grpc_host,
                s.grpc_port,
                [(llm_pb2_grpc.add_LlmRouterServicer_to_server, LlmRouterServicer(self.service, repo), SERVICE_NAME)],
            )
        )
        log.info("llm-router serving gRPC on %s:%d", s.grpc_host, self.grpc.port)

    def _apply_config(self, config: object) -> None:
        from vapora_llm_router.config import Config

        if self.service is not None and isinstance(config, Config):
            self.service.apply_config(config)

    async def reload(self) -> None:
        """SIGHUP: re-read the config files now; an invalid file raises and changes nothing."""
        if self.watcher is not None:
            self.watcher.reload()
