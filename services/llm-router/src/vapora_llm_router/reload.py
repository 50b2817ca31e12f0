"""Hot reload of router.toml, budget.toml and prices.toml.

The watcher checks the files' mtimes every ``interval`` seconds (SIGHUP forces a check
through ``App.reload``). A file that does not validate is refused with a clear error
(file and field) and the previous config keeps serving.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from vapora_core.aio import Periodic
from vapora_core.errors import ConfigError
from vapora_llm_router import config as cfg
from vapora_llm_router import metrics

log = logging.getLogger("vapora.llm_router.reload")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return -1.0


class ConfigWatcher:
    def __init__(
        self,
        files: tuple[Path, Path, Path],
        apply: Callable[[cfg.Config], None],
        *,
        interval: float = 1.0,
    ) -> None:
        self.files = files
        self._apply = apply
        self._interval = interval
        self._seen = tuple(_mtime(f) for f in files)
        self._watcher: Periodic | None = None
        self.last_error: ConfigError | None = None

    def load(self) -> cfg.Config:
        """Load every file; raises :class:`ConfigError` on the first invalid one."""
        seen = tuple(_mtime(f) for f in self.files)
        config = cfg.load(*self.files)
        self._seen = seen
        return config

    def reload(self) -> bool:
        """Apply the files as they are now; False (and the old config stays) if one is invalid."""
        seen = tuple(_mtime(f) for f in self.files)
        try:
            config = cfg.load(*self.files)
        except ConfigError as exc:
            self._seen = seen  # do not re-log the same broken file every second
            self.last_error = exc
            metrics.CONFIG_RELOADS.labels(exc.source or "config", "rejected").inc()
            log.error("config change refused, keeping the previous config: %s", exc)
            raise
        self._seen = seen
        self.last_error = None
        self._apply(config)
        for f in self.files:
            metrics.CONFIG_RELOADS.labels(str(f), "ok").inc()
        log.info("config reloaded", extra={"files": [str(f) for f in self.files]})
        return True

    def changed(self) -> bool:
        return tuple(_mtime(f) for f in self.files) != self._seen

    def check(self) -> None:
        if self.changed():
            with contextlib.suppress(ConfigError):
                self.reload()

    def start(self) -> None:
        self._watcher = Periodic("config-watcher", self._interval, self.check)
        self._watcher.start()

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
            self._watcher = None
