"""The benches' figures, machine-readable: what ``docs/performance.md``'s tables are written from.

Every bench prints its figures for a person to read. With ``VAPORA_BENCH_JSON=<file>`` set (``just
bench`` sets it), each figure is also appended to that file as one JSON object per line::

    {"bench": "bench_gateway", "name": "POST /api/v1/tasks", "value": 1712.0, "unit": "req/s",
     "target": ">= 1500", "met": true}

``target`` is the bench's own goal for the figure (``null`` when it has none) and ``met`` whether
the value reached it (``null`` without a target, or when the value is not a number).
``scripts/performance_doc.py`` reads the file and rewrites the generated part of
``docs/performance.md``. Without the variable nothing is written.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ENV = "VAPORA_BENCH_JSON"


@dataclass(frozen=True, slots=True)
class Target:
    op: Literal[">=", "<="]
    bound: float

    def met(self, value: float) -> bool:
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def __str__(self) -> str:
        return f"{self.op} {self.bound:.4g}"


def at_least(bound: float) -> Target:
    return Target(">=", bound)


def at_most(bound: float) -> Target:
    return Target("<=", bound)


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures of one bench (``bench`` is its file's stem, e.g. ``bench_store``)."""

    bench: str

    def add(self, name: str, value: float, unit: str, target: Target | None = None) -> None:
        """Append one figure to ``$VAPORA_BENCH_JSON``, if set. A value that is not a number
        (a bench that measured nothing) is written as ``null``."""
        path = os.environ.get(ENV)
        if not path:
            return
        number = float(value)
        finite = math.isfinite(number)
        row = {
            "bench": self.bench,
            "name": name,
            "value": number if finite else None,
            "unit": unit,
            "target": str(target) if target else None,
            "met": target.met(number) if target and finite else None,
        }
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
