"""What the fleet offers a template: the task types agents take and the roles they have.

Built from the coordinator's in-memory view of the registry (``FleetView.agents``, every agent
whatever its health: a template names what the fleet is made of, not who is up right now). A
role's capabilities keep their manifest order, so a role-only stage runs the role's first one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vapora.agents.v1 import agents_pb2


@dataclass(frozen=True, slots=True)
class Catalogue:
    task_types: frozenset[str]
    roles: dict[str, tuple[str, ...]]  # role → its task types, the first agent's manifest order first
    known: bool = True  # False: the registry was not reachable, so nothing can be checked yet

    @classmethod
    def of(cls, agents: Iterable[agents_pb2.Agent], *, known: bool = True) -> Catalogue:
        roles: dict[str, list[str]] = {}
        types: set[str] = set()
        for agent in sorted(agents, key=lambda a: a.id):
            caps = [c.task_type for c in agent.capabilities]
            types.update(caps)
            have = roles.setdefault(agent.role, [])
            have.extend(t for t in caps if t not in have)
        return cls(frozenset(types), {r: tuple(ts) for r, ts in roles.items() if ts}, known)

    def describe_types(self) -> str:
        return "known: " + (", ".join(sorted(self.task_types)) or "none")

    def describe_roles(self) -> str:
        return "known: " + (", ".join(sorted(self.roles)) or "none")
