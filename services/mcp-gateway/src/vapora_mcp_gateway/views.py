"""Tool views: which tools an agent's job token allows.

A token's ``tools`` claim holds the agent's ``allowed_tools``: exact ``server.tool`` names or
``server.*`` (every tool of one server). Nothing else matches: no other wildcard, no prefix.
"""

from __future__ import annotations

from collections.abc import Iterable


def allows(patterns: Iterable[str], server: str, tool: str) -> bool:
    """Whether ``server.tool`` is in the view ``patterns`` describe."""
    exact = f"{server}.{tool}"
    every = f"{server}.*"
    return any(p in (exact, every) for p in patterns)
