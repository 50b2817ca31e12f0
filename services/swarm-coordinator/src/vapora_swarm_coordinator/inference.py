"""Infer a task's type from its title and description when it is not given.

Rules (docs/learning.md lists them too): every type has keywords, matched as whole words,
case-insensitive (a keyword may be a prefix ending in ``*``). A hit in the title counts 2,
in the description 1. The type with the most points wins; ties go to the earlier type in
:data:`RULES` (security, testing, review, documentation, devops, architecture, coding).
No hit at all: ``coding``.
"""

from __future__ import annotations

import re

DEFAULT_TYPE = "coding"

RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "security",
        (
            "security",
            "secur*",
            "vulnerab*",
            "cve",
            "xss",
            "csrf",
            "injection",
            "auth*",
            "audit",
            "encrypt*",
            "secret*",
            "pentest",
            "threat",
        ),
    ),
    ("testing", ("test*", "pytest", "unittest", "coverage", "qa", "regression", "e2e", "flaky", "fixture*")),
    ("review", ("review*", "critique", "feedback", "approve", "pr", "pull request")),
    (
        "documentation",
        ("doc", "docs", "document*", "readme", "tutorial", "guide", "docstring*", "changelog", "explain"),
    ),
    (
        "devops",
        (
            "deploy*",
            "ci",
            "cd",
            "pipeline",
            "docker*",
            "kubernetes",
            "k8s",
            "helm",
            "terraform",
            "infra*",
            "monitoring",
            "release",
            "skaffold",
        ),
    ),
    (
        "architecture",
        (
            "architect*",
            "design",
            "diagram",
            "adr",
            "scalab*",
            "microservice*",
            "system design",
            "trade-off*",
            "tradeoff*",
        ),
    ),
    (
        "coding",
        ("implement*", "code", "coding", "fix", "bug", "refactor*", "function", "feature", "endpoint", "write", "add"),
    ),
)


def _pattern(keyword: str) -> re.Pattern[str]:
    if keyword.endswith("*"):
        return re.compile(rf"\b{re.escape(keyword[:-1])}\w*", re.IGNORECASE)
    return re.compile(rf"\b{re.escape(keyword)}\b", re.IGNORECASE)


_COMPILED = tuple((t, tuple(_pattern(k) for k in kws)) for t, kws in RULES)


def infer_task_type(title: str, description: str = "") -> str:
    best, best_points = DEFAULT_TYPE, 0
    for task_type, patterns in _COMPILED:
        points = sum(2 * len(p.findall(title)) + len(p.findall(description)) for p in patterns)
        if points > best_points:
            best, best_points = task_type, points
    return best
