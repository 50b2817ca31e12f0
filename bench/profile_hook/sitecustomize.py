"""cProfile in a service process a bench starts: put this directory on ``PYTHONPATH`` and set
``VAPORA_BENCH_PROFILE_OUT`` to the stats file to write.

The profiler runs on the main thread (the event loop) from start-up and counts that thread's CPU
time (``time.thread_time``), not the wall clock, which a loaded machine inflates. SIGUSR2 starts
it afresh (SIGUSR1 is the services' task dump, :mod:`vapora_core.taskdump`), so a bench sends it
after its warm-up and the stats hold only the measured phase; they are written when the process
exits (a graceful stop: SIGTERM). Without the variable it does nothing.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import signal
import time
from types import FrameType

_OUT = os.environ.get("VAPORA_BENCH_PROFILE_OUT", "")


class _Profiler:
    def __init__(self, out: str) -> None:
        self.out = out
        self.profile = cProfile.Profile(time.thread_time)
        self.profile.enable()

    def restart(self, signum: int, frame: FrameType | None) -> None:
        self.profile.disable()
        self.profile = cProfile.Profile(time.thread_time)
        self.profile.enable()

    def dump(self) -> None:
        self.profile.disable()
        self.profile.dump_stats(self.out)


if _OUT:
    _profiler = _Profiler(_OUT)
    signal.signal(signal.SIGUSR2, _profiler.restart)
    atexit.register(_profiler.dump)
