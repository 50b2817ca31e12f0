"""No hand-written source file over 400 lines (the house rule: small modules with one job).

Counted over every ``.py`` and ``.js`` file git tracks, generated protobuf code and vendored
front-end packages excepted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400
GENERATED = ("libs/proto/src/", "/ui/vendor/")


def tracked_sources() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.py", "*.js"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [p for p in out.stdout.splitlines() if not any(g in p for g in GENERATED)]


def test_the_walk_sees_the_services_and_skips_generated_code() -> None:
    files = tracked_sources()
    assert any(p.startswith("services/swarm-coordinator/src/") for p in files)
    assert not any(p.startswith("libs/proto/src/") for p in files)


def test_no_source_file_is_over_the_limit() -> None:
    sizes = {p: len((ROOT / p).read_text().splitlines()) for p in tracked_sources() if (ROOT / p).is_file()}
    over = {p: n for p, n in sizes.items() if n > LIMIT}
    assert not over, f"over {LIMIT} lines (split by job): {over}"
