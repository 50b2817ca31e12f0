"""Passed/failed counts of a test run, from what the test tool left behind.

Supported, in this order:

- JUnit XML (``pytest --junitxml``; also what most other test tools can write): the sums of
  ``tests``, ``failures``, ``errors`` and ``skipped`` over its ``<testsuite>`` elements;
- pytest's summary line (``3 failed, 10 passed, 1 skipped in 0.52s``), the last one in the output.

Anything else gives no counts (None): the exit code is still the verdict.

Per test (:func:`outcomes_from_junit`), only from JUnit XML: ``classname::name`` → ``passed``,
``failed``, ``error`` or ``skipped``; what verification compares between a commit and its start
point.
"""

from __future__ import annotations

import re

# The report comes from our own sandboxed run, is size-capped, and expat >= 2.4 refuses entity bombs.
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

MAX_REPORT_BYTES = 20_000_000
_SUMMARY = re.compile(r"^[=\s]*((?:\d+ [a-z]+(?:, )?)+) in [\d.]+s\b.*$", re.MULTILINE)
_COUNT = re.compile(r"(\d+) ([a-z]+)")


@dataclass(frozen=True, slots=True)
class TestCounts:
    passed: int
    failed: int
    errors: int
    skipped: int
    source: str

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "total": self.total}


def _int(value: str | None) -> int:
    try:
        return int(float(value or 0))
    except ValueError:
        return 0


def from_junit(path: Path) -> TestCounts | None:
    root = _parsed(path)
    if root is None:
        return None
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    tests = failures = errors = skipped = 0
    seen = False
    for suite in suites:
        seen = True
        tests += _int(suite.get("tests"))
        failures += _int(suite.get("failures"))
        errors += _int(suite.get("errors"))
        skipped += _int(suite.get("skipped"))
    if not seen:
        return None
    passed = max(0, tests - failures - errors - skipped)
    return TestCounts(passed, failures, errors, skipped, "junit-xml")


def _parsed(path: Path) -> ET.Element | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
            return None
        return ET.parse(path).getroot()  # noqa: S314 - see the import
    except (OSError, ET.ParseError):
        return None


def outcomes_from_junit(path: Path) -> dict[str, str] | None:
    """Each test case's outcome; None when there is no readable report."""
    root = _parsed(path)
    if root is None:
        return None
    out: dict[str, str] = {}
    for case in root.iter("testcase"):
        classname, name = case.get("classname") or "", case.get("name") or ""
        test_id = f"{classname}::{name}" if classname else name
        tags = {child.tag for child in case}
        if "failure" in tags:
            outcome = "failed"
        elif "error" in tags:
            outcome = "error"
        elif "skipped" in tags:
            outcome = "skipped"
        else:
            outcome = "passed"
        # a test that errors in teardown after passing is reported twice: the worse outcome stays
        if out.get(test_id) in (None, "passed", "skipped"):
            out[test_id] = outcome
    return out


def from_pytest_summary(output: str) -> TestCounts | None:
    matches = _SUMMARY.findall(output)
    if not matches:
        return None
    counts: dict[str, int] = {}
    for number, word in _COUNT.findall(matches[-1]):
        counts[word] = counts.get(word, 0) + int(number)
    return TestCounts(
        passed=counts.get("passed", 0),
        failed=counts.get("failed", 0),
        errors=counts.get("error", 0) + counts.get("errors", 0),
        skipped=counts.get("skipped", 0),
        source="pytest-summary",
    )


def counts_of(junit: Path | None, output: str) -> TestCounts | None:
    return (from_junit(junit) if junit is not None else None) or from_pytest_summary(output)
