"""docs/performance.md's tables come from the benches' figures (bench/figures.py → scripts/performance_doc.py)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from vapora_testing.repo import repo_root

ROOT = repo_root(Path(__file__).parent)


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


figures = load("bench_figures", ROOT / "bench" / "figures.py")
doc = load("performance_doc", ROOT / "scripts" / "performance_doc.py")

HAND = "# Performance\n\nWhat each bench measures, and what was tried.\n\n"
TAKEN = doc.Taken(date="2026-12-04 10:00 UTC", commit="abc1234", nproc=2, python="3.11.9")


def record(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(figures.ENV, str(path))
    gateway = figures.Figures("bench_gateway")
    gateway.add("POST /api/v1/tasks", 1712.4, "req/s", figures.at_least(1500))
    gateway.add("latency p99", 41.25, "ms", figures.at_most(30))
    gateway.add("latency p50 | median", 3.14159, "ms")
    figures.Figures("bench_store").add("round trip", float("nan"), "µs", figures.at_most(300))
    figures.Figures("bench_store").add("share", 8.0, "%", figures.at_least(25))
    figures.Figures("bench_store").add("ratio", 0.1234, "")


def test_a_bench_appends_one_json_line_per_figure_with_its_target_and_whether_it_was_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "figures.jsonl"
    record(out, monkeypatch)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {
        "bench": "bench_gateway",
        "name": "POST /api/v1/tasks",
        "value": 1712.4,
        "unit": "req/s",
        "target": ">= 1500",
        "met": True,
    }
    assert (rows[1]["target"], rows[1]["met"]) == ("<= 30", False)
    assert (rows[2]["target"], rows[2]["met"]) == (None, None)
    assert (rows[3]["value"], rows[3]["met"]) == (None, None)  # not a number: null, never NaN


def test_without_the_variable_a_bench_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(figures.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    figures.Figures("bench_x").add("a", 1.0, "s")
    assert list(tmp_path.iterdir()) == []


def test_the_tables_say_value_target_and_met_per_bench_in_bench_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "figures.jsonl"
    record(out, monkeypatch)
    block = doc.render(doc.read_figures(out), ["bench_bus", "bench_gateway", "bench_store"], TAKEN)
    lines = block.splitlines()
    assert lines[0] == doc.BEGIN and lines[-1] == doc.END
    assert "Taken 2026-12-04 10:00 UTC at commit `abc1234` on 2 CPUs (`nproc`), Python 3.11.9." in block
    assert block.index("### bench_bus") < block.index("### bench_gateway") < block.index("### bench_store")
    assert "### bench_bus\n\nNo figures recorded (the bench did not run)." in block
    assert "| POST /api/v1/tasks | 1,712 req/s | >= 1500 req/s | yes |" in lines
    assert "| latency p99 | 41.2 ms | <= 30 ms | **no** |" in lines
    assert "| latency p50 \\| median | 3.14 ms | — | — |" in lines
    assert "| round trip | — | <= 300 µs | — |" in lines
    assert "| share | 8.00% | >= 25% | **no** |" in lines
    assert "| ratio | 0.123 | — | — |" in lines


def test_rewriting_keeps_the_hand_written_part_and_replaces_only_the_generated_one(tmp_path: Path) -> None:
    old = HAND + doc.BEGIN + "\nold table\n" + doc.END + "\n"
    new_block = doc.BEGIN + "\nnew table\n" + doc.END + "\n"
    once = doc.rewrite(old, new_block, "performance.md")
    assert once == HAND + new_block
    assert doc.rewrite(once, new_block, "performance.md") == once  # idempotent
    with pytest.raises(doc.BadFigures, match=r"performance\.md: needs one"):
        doc.rewrite(HAND, new_block, "performance.md")
    with pytest.raises(doc.BadFigures):
        doc.rewrite(HAND + doc.END + "\n" + doc.BEGIN + "\n", new_block, "performance.md")  # out of order


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "a figure is a JSON object, not list"),
        ('{"bench": "b", "name": "n", "value": 1}', "missing met, target, unit"),
        ('{"bench": "b", "name": "n", "value": "fast", "unit": "", "target": null, "met": null}', "value is 'fast'"),
        ('{"bench": "b", "name": "n", "value": true, "unit": "", "target": null, "met": null}', "value is True"),
        (
            '{"bench": "", "name": "n", "value": 1, "unit": "", "target": null, "met": null}',
            "bench and name must not be empty",
        ),
    ],
)
def test_a_line_that_is_not_a_figure_is_named_with_its_number(tmp_path: Path, line: str, reason: str) -> None:
    out = tmp_path / "figures.jsonl"
    good = '{"bench": "b", "name": "n", "value": 1, "unit": "s", "target": null, "met": null}'
    out.write_text(f"{good}\n\n{line}\n")
    with pytest.raises(doc.BadFigures, match=rf"figures.jsonl:3: {reason}"):
        doc.read_figures(out)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    script = ROOT / "scripts" / "performance_doc.py"
    return subprocess.run(
        [sys.executable, str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_script_rewrites_the_doc_and_leaves_it_alone_on_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, page = tmp_path / "figures.jsonl", tmp_path / "performance.md"
    record(out, monkeypatch)
    page.write_text(HAND + doc.BEGIN + "\nold\n" + doc.END + "\n")
    done = run_script(str(out), "--doc", str(page))
    assert done.returncode == 0, done.stderr
    assert "wrote 6 figures of 2 benches" in done.stdout
    text = page.read_text()
    assert text.startswith(HAND) and "\nold\n" not in text
    assert "| POST /api/v1/tasks | 1,712 req/s | >= 1500 req/s | yes |" in text
    for bench in sorted((ROOT / "bench").glob("bench_*.py")):
        assert f"### {bench.stem}" in text  # every bench of the repository has its section

    before = page.read_text()
    out.write_text('{"bench": "b"}\n')
    done = run_script(str(out), "--doc", str(page))
    assert done.returncode == 1 and "figures.jsonl:1: missing" in done.stderr
    out.write_text("")
    done = run_script(str(out), "--doc", str(page))
    assert done.returncode == 1 and "no figures: the doc keeps the tables it has" in done.stderr
    assert page.read_text() == before


def test_the_repositorys_performance_doc_has_its_markers() -> None:
    text = (ROOT / "docs" / "performance.md").read_text()
    assert text.count(doc.BEGIN) == 1 and text.count(doc.END) == 1
    assert text.index(doc.BEGIN) > 0  # the hand-written part comes first
