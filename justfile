# Vapora: `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

uv := "python3 -m uv"

# list the recipes
default:
    @just --list

# install uv (user-level, no root), every workspace package into .venv with its bytecode (a process then imports rather than compiles each module, even with PYTHONDONTWRITEBYTECODE set), the npm MCP servers (tools/) and the web UI's front-end packages
[group('dev')]
setup:
    @python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv 2>/dev/null || python3 -m pip install --quiet --user --disable-pip-version-check uv
    {{uv}} sync --quiet --frozen --compile-bytecode
    @{{uv}} run --frozen python -m compileall -q -j 0 -x node_modules libs services scripts bench >/dev/null
    @cmp -s tools/files/package-lock.json tools/files/node_modules/.vapora-lock 2>/dev/null || { command -v npm >/dev/null || { echo "setup: npm (Node.js) is needed for the files MCP server (tools/files)" >&2; exit 1; }; npm ci --prefix tools/files --no-audit --no-fund --loglevel=error && cp tools/files/package-lock.json tools/files/node_modules/.vapora-lock; }
    @cmp -s services/api-gateway/web/package-lock.json services/api-gateway/web/node_modules/.vapora-lock 2>/dev/null || { command -v npm >/dev/null || { echo "setup: npm (Node.js) is needed for the web UI's packages (services/api-gateway/web)" >&2; exit 1; }; npm ci --prefix services/api-gateway/web --no-audit --no-fund --loglevel=error && cp services/api-gateway/web/package-lock.json services/api-gateway/web/node_modules/.vapora-lock; }
    @{{uv}} run --frozen python -m vapora_api_gateway.ui.assets check 2>/dev/null || {{uv}} run --frozen python -m vapora_api_gateway.ui.assets install

# start nats-server and all seven services on the local default, and send a sample task through them
[group('dev')]
up: setup
    {{uv}} run --frozen python scripts/fleet.py up
    {{uv}} run --frozen python scripts/demo.py

# `just up` on a 3-node NATS JetStream cluster (every stream with 3 replicas)
[group('dev')]
up-cluster: setup
    {{uv}} run --frozen python scripts/fleet.py up --nats-nodes 3
    {{uv}} run --frozen python scripts/demo.py

# stop everything `just up` started
[group('dev')]
down:
    {{uv}} run --frozen python scripts/fleet.py down

# list what runs, with pids, ports and readiness
[group('dev')]
status:
    {{uv}} run --frozen python scripts/fleet.py status

# show the last lines of every service's log (or of one: just logs llm-router)
[group('dev')]
logs service="":
    {{uv}} run --frozen python scripts/fleet.py logs {{service}}

# send one sample task through the running fleet and print its path
[group('dev')]
demo:
    {{uv}} run --frozen python scripts/demo.py

# regenerate the Python code in libs/proto from proto/
[group('dev')]
proto: setup
    {{uv}} run --frozen python scripts/gen_proto.py

# fail when the generated protobuf code is stale
[group('test')]
proto-check: setup
    {{uv}} run --frozen python scripts/gen_proto.py --check

# ruff: lint and format check
[group('test')]
lint: setup
    {{uv}} run --frozen ruff check .
    {{uv}} run --frozen ruff format --check .

# mypy --strict on every library, service, benchmark and script
[group('test')]
typecheck: setup
    {{uv}} run --frozen mypy libs/core/src libs/testing/src services/*/src bench scripts

# every check and every test: proto-check, lint, typecheck, unit, integration and e2e (the NATS
# node-kill tests of the whole fleet run in test-faults, which CI runs next: they alone take minutes)
[group('test')]
test: proto-check lint typecheck
    {{uv}} run --frozen pytest -q -p no:cacheprovider -m "not faults"

# start a fleet, drive every page of the web UI in headless Chromium and write docs/ui/*.png
[group('dev')]
screenshots: setup
    {{uv}} run --frozen python scripts/screenshots.py docs/ui

# the NATS fault tests of the whole fleet at the issue's load: 2,000 tasks in flight on the 3-node
# cluster, a node SIGKILLed and restarted; a single node SIGKILLed and restarted on its store
[group('test')]
test-faults: setup
    {{uv}} run --frozen pytest -q -p no:cacheprovider -m faults

# run only the tests matching an expression, e.g. just test-k dead_letter
[group('test')]
test-k expr: setup
    {{uv}} run --frozen pytest -q -p no:cacheprovider -k "{{expr}}"

# run every benchmark in bench/, print its figures, and write them into docs/performance.md
[group('bench')]
bench: setup
    {{uv}} sync --quiet --frozen --group bench
    mkdir -p .run && rm -f .run/bench-figures.jsonl
    for b in bench/bench_*.py; do echo "== $b"; VAPORA_BENCH_JSON="{{justfile_directory()}}/.run/bench-figures.jsonl" {{uv}} run --frozen --group bench python "$b"; done
    {{uv}} run --frozen python scripts/performance_doc.py .run/bench-figures.jsonl
