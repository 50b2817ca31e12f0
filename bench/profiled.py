"""Run a service module under cProfile, its stats written when it exits: a measuring device.

    python bench/profiled.py OUT.prof vapora_swarm_coordinator

runs ``python -m vapora_swarm_coordinator`` in this process with :mod:`cProfile` on, and writes the
stats to ``OUT.prof`` however it ends (SIGTERM included: the service's own shutdown returns or
raises SystemExit). Read them with ``python -m pstats OUT.prof``. A bench starts this in place of
``python -m <module>`` when ``VAPORA_BENCH_PROFILE`` names a file (``bench_workflows.py``). What
cProfile sees is the Python thread only (the embedded store's engine runs in threads of its own),
and it slows that thread; the split it shows is what to read, not its totals.
"""

from __future__ import annotations

import cProfile
import runpy
import sys


def main() -> None:
    out, module = sys.argv[1], sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    profile = cProfile.Profile()
    profile.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        profile.disable()
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
