"""The runner's parts: output capture, test reports, the commands file, the fallback without bwrap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from vapora_core.errors import ConfigError
from vapora_mcp_gateway.servers.commands import load_commands
from vapora_mcp_gateway.servers.execute import Capture
from vapora_mcp_gateway.servers.reports import from_junit, from_pytest_summary

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="a" tests="5" failures="1" errors="1" skipped="1"/>
<testsuite name="b" tests="2" failures="0" errors="0" skipped="0"/></testsuites>"""


def test_capture_keeps_head_and_tail_within_its_limit() -> None:
    capture = Capture(100)
    capture.feed(b"H" * 30)
    for _ in range(1000):
        capture.feed(b"m" * 1000)
    capture.feed(b"T" * 80)
    assert capture.total == 30 + 1_000_000 + 80 and capture.truncated
    text = capture.text()
    assert text.startswith("H" * 25) and text.endswith("T" * 75)
    assert f"[... {1_000_110 - 100} bytes left out by the runner ...]" in text
    small = Capture(100)
    small.feed("héllo".encode())
    assert small.text() == "héllo" and not small.truncated


def test_junit_xml_and_pytest_summaries_give_counts(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)
    counts = from_junit(report)
    assert counts is not None and counts.as_dict() == {
        "passed": 4,
        "failed": 1,
        "errors": 1,
        "skipped": 1,
        "source": "junit-xml",
        "total": 7,
    }
    single = tmp_path / "single.xml"
    single.write_text('<testsuite tests="3" failures="3"/>')
    assert from_junit(single).failed == 3  # type: ignore[union-attr]
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites")
    assert from_junit(broken) is None and from_junit(tmp_path / "missing.xml") is None

    output = "....F\n=== FAILURES ===\n...\n==== 2 failed, 10 passed, 1 skipped, 3 errors in 0.52s ====\n"
    summary = from_pytest_summary(output)
    assert summary is not None
    assert (summary.passed, summary.failed, summary.skipped, summary.errors) == (10, 2, 1, 3)
    assert from_pytest_summary("1 passed in 0.01s\n").passed == 1  # type: ignore[union-attr]
    assert from_pytest_summary("no tests here") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('test = "pytest \'unclosed"', "cannot split"),
        ('[checks]\n"Bad Name" = "ruff"', "must be lowercase"),
        ('[checks]\nlint = "  "', "empty command"),
        ('colour = "red"', "Extra inputs"),
        ("test = [", "not valid TOML"),
    ],
)
def test_a_bad_commands_file_names_the_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "runner.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_commands(path)
    assert str(path) in str(info.value)


async def test_without_bwrap_commands_still_run_limited_and_run_shell_is_refused(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "vapora_mcp_gateway.servers.runner",
            "--root",
            str(tmp_path),
            "--bwrap",
            "/nonexistent/bwrap",
            "--timeout-s",
            "5",
        ],
    )
    commands = tmp_path / "runner.toml"
    commands.write_text(f"[checks]\nmem = \"{sys.executable} -c 'bytearray(3 * 1024 ** 3)'\"\n")
    params.args += ["--commands", str(commands)]
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        refused = await session.call_tool("run_shell", {"command": "echo hi"})
        assert refused.is_error
        assert "run_shell needs the sandbox, which cannot run here (/nonexistent/bwrap is not installed)" in (
            refused.content[0].text  # type: ignore[union-attr]
        )
        over = await session.call_tool("run_check", {"name": "mem"})
        result = over.structured_content or {}
        assert result["sandbox"] == "none: /nonexistent/bwrap is not installed"
        assert result["exit_code"] != 0 and "MemoryError" in result["stderr"]  # the 2 GiB address-space limit


def test_require_sandbox_refuses_to_start_without_bwrap(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vapora_mcp_gateway.servers.runner",
            "--root",
            str(tmp_path),
            "--bwrap",
            "",
            "--require-sandbox",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert "cannot start: --require-sandbox, and bubblewrap is turned off (--bwrap '')" in done.stderr
