import asyncio

import uvloop

from vapora_core.lifecycle import run
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings

# uvloop: the coordinator is bound by its event loop (NATS socket reads and writes, many small
# tasks and futures per task assigned); its effect: bench/bench_coordinator.py, docs/performance.md.
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
settings = CoordinatorSettings()
run(CoordinatorApp(settings), settings)
