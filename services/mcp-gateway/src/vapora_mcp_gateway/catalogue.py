"""The tool catalogue in memory: every server's tools as last listed (or cached in the store)."""

from __future__ import annotations

from collections.abc import Iterable

from vapora_mcp_gateway.models import ToolInfo


class Catalogue:
    def __init__(self) -> None:
        self._tools: dict[str, dict[str, ToolInfo]] = {}

    def replace(self, server: str, tools: Iterable[ToolInfo]) -> None:
        self._tools[server] = {t.name: t for t in tools}

    def load(self, tools: Iterable[ToolInfo]) -> None:
        """Fill servers not listed yet from the cached catalogue."""
        loaded: dict[str, dict[str, ToolInfo]] = {}
        for tool in tools:
            loaded.setdefault(tool.server, {})[tool.name] = tool
        for server, by_name in loaded.items():
            self._tools.setdefault(server, by_name)

    def known(self, server: str) -> bool:
        return server in self._tools

    def get(self, server: str, name: str) -> ToolInfo | None:
        return self._tools.get(server, {}).get(name)

    def tools(self, server: str) -> list[ToolInfo]:
        return sorted(self._tools.get(server, {}).values(), key=lambda t: t.name)
