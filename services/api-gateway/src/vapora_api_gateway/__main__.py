import asyncio

import uvloop

from vapora_api_gateway.app import GatewayApp
from vapora_api_gateway.settings import GatewaySettings
from vapora_core.lifecycle import run

# uvloop: the gateway is bound by its event loop (HTTP parsing, socket writes); uvloop cuts the
# main thread's CPU per request (bench/bench_gateway.py; figures in docs/performance.md).
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
settings = GatewaySettings()
run(GatewayApp(settings), settings, ops_server=False)
