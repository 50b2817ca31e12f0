"""Measured figures live in docs/performance.md only (written by `just bench`; they go stale anywhere else).

This fails when a README, a page of docs/ other than performance.md, or a docstring or comment
of the code under services/ and libs/ states one. A measured figure is recognised by how figures
are written and settings are not: an approximate measure (``~0.2 ms``, ``~11%``), a rate (``1,500 calls/s``),
microseconds, a percentile with its value (``p99 15 ms``) or a range seen over runs (``15-20%``).
A setting's value (``linger 20 ms``, ``under 80% of a window``) is none of these.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FIGURE = re.compile(
    r"~\s?\d[\d,.]*(?:\s?[–-]\s?\d[\d,.]*)?\s?(?:%|ms\b|s\b|µs|k?\s?[a-z]+/s\b)"  # an approximate measure
    r"|\d[\d,.]*\s?k?\s?(?:msg|tasks|req|calls|assignments|requests|messages|ops)/s\b"  # a rate
    r"|\d[\d,.]*\s?µs\b"  # microseconds: only ever measured here
    r"|\bp(?:50|90|95|99)\s+(?:of\s+|was\s+)?~?\d"  # a percentile with its value
    r"|\d+(?:\.\d+)?\s?[–-]\s?\d+(?:\.\d+)?\s?(?:%|ms\b)"  # a range seen over runs
)


def figures_in(text: str) -> list[str]:
    return [m.group() for m in FIGURE.finditer(text)]


def prose_of_code(source: str) -> list[tuple[int, str]]:
    """Every docstring and comment of a module, with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body:
                found.append((node.body[0].lineno, doc))
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            found.append((tok.start[0], tok.string))
    return found


def test_the_pattern_tells_measured_figures_from_settings() -> None:
    measured = [
        "a round trip costs ~0.2 ms of CPU however little it carries",
        "uvloop cuts the main thread's CPU per request by ~15-20% in bench_gateway.py",
        "about 1,500 calls/s, p50 4.5 ms, p99 15-22 ms for a 100-agent page",
        "4.8–7.5k tasks/s, 26–37%, while the ceiling moved",
        "~9–10 µs of Python per row",
        "returning 3 fields cut 40 µs of CPU per finish",
        "p99 was 37 ms",
        "~11% less CPU per task",
        "waits for one ~13–18% (it is hardly ever idle)",
        "5,734 against 22,994 msg/s",
    ]
    settings = [
        "Finishes linger 20 ms for company, or until every execution worker is waiting",
        "nak with backoff (0.2 s, 0.4 s, ...); on the last delivery (5th)",
        "Under 80% of a window: normal rules; over 80%: prefer cheaper providers",
        "request rate, error ratio, p50/p95/p99 latency",
        "`VAPORA_INTAKE_BATCH` (32) buffered tasks; `VAPORA_JOB_TIMEOUT_S` (600)",
        "Target on this machine: the bench's own goal is in its docstring",
        "providers add a system prompt of their own (Anthropic documents ~350 tokens)",
        "retried 3× in the call",
        "hours 9-17 of the day",
    ]
    assert all(figures_in(text) for text in measured), [t for t in measured if not figures_in(t)]
    assert not any(figures_in(text) for text in settings), {t: figures_in(t) for t in settings if figures_in(t)}


def test_no_readme_or_doc_page_states_a_measured_figure() -> None:
    pages = [
        ROOT / "README.md",
        *sorted(ROOT.glob("services/*/README.md")),
        *sorted(ROOT.glob("libs/*/README.md")),
        *(p for p in sorted(ROOT.glob("docs/*.md")) if p.name != "performance.md"),
    ]
    assert len(pages) > 10, "the pages were not found"
    found = {
        f"{page.relative_to(ROOT)}:{n}": figures_in(line)
        for page in pages
        for n, line in enumerate(page.read_text().splitlines(), 1)
        if figures_in(line)
    }
    assert not found, f"measured figures belong in docs/performance.md: {found}"


def test_no_docstring_or_comment_under_services_or_libs_states_a_measured_figure() -> None:
    modules = [
        p
        for p in (*sorted(ROOT.glob("services/*/src/**/*.py")), *sorted(ROOT.glob("libs/*/src/**/*.py")))
        if "_pb2" not in p.name
    ]
    assert len(modules) > 50, "the modules were not found"
    found = {
        f"{path.relative_to(ROOT)}:{line}": figures_in(text)
        for path in modules
        for line, text in prose_of_code(path.read_text())
        if figures_in(text)
    }
    assert not found, f"measured figures belong in docs/performance.md: {found}"
