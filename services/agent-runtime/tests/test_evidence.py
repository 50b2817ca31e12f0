"""A reviewer's verdict as the runtime reads it, and the outcome each kind of evidence gives."""

from __future__ import annotations

import pytest

from vapora.common.v1 import evidence_pb2
from vapora_agent_runtime import evidence
from vapora_agent_runtime.verdict import VerdictError, parse_verdict

VERDICT = """I read the diff.

```json
{"decision": "request_changes",
 "findings": [{"file": "src/stock.py", "line": 29, "severity": "high", "message": "off by one"}]}
```
"""


def test_the_last_fenced_json_block_is_the_verdict() -> None:
    v = parse_verdict('draft:\n```json\n{"decision": "approve"}\n```\n' + VERDICT)
    assert v.decision == "request_changes"
    assert [(f.file, f.line, f.severity, f.message) for f in v.findings] == [("src/stock.py", 29, "high", "off by one")]
    assert parse_verdict('```\n{"decision": "approve", "findings": []}\n```').findings == ()


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Looks good to me.", "no fenced JSON block"),
        ("```json\n{decision: approve}\n```", "is not JSON"),
        ('```json\n["approve"]\n```', "must be a JSON object"),
        ('```json\n{"decision": "lgtm"}\n```', "decision must be approve or request_changes"),
        ('```json\n{"decision": "approve", "findings": {}}\n```', "findings must be a list"),
        ('```json\n{"decision": "approve", "findings": [{"line": 3}]}\n```', "findings[0].file"),
        ('```json\n{"decision": "approve", "findings": [{"file": "a.py", "line": 0}]}\n```', "findings[0].line"),
        ('```json\n{"decision": "approve", "findings": [{"file": "a.py", "line": true}]}\n```', "findings[0].line"),
        (
            '```json\n{"decision": "approve", "findings": [{"file": "a.py", "line": 2, "severity": "meh"}]}\n```',
            "findings[0].severity",
        ),
    ],
)
def test_a_verdict_that_is_not_what_the_format_asks_says_why(answer: str, reason: str) -> None:
    with pytest.raises(VerdictError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_verdict(answer)


def run_of(**fields: object) -> evidence_pb2.Verification:
    return evidence_pb2.Verification(kind="tests", **fields)  # type: ignore[arg-type]


def test_a_change_that_makes_the_failing_test_pass_is_the_best_outcome() -> None:
    fixed = run_of(passed=True, counts_known=True, tests_passed=4, base_passed=3, base_failed=1, newly_passing=["t::x"])
    assert evidence.of_tests(fixed) == evidence.Outcome(True, 1.0, True)


def test_a_change_that_breaks_a_passing_test_fails_whatever_else_passes() -> None:
    broke = run_of(passed=False, exit_code=1, counts_known=True, tests_passed=3, tests_failed=1, base_passed=3,
                  base_failed=1, newly_passing=["t::x"], newly_failing=["t::y"])  # fmt: skip
    out = evidence.of_tests(broke)
    assert not out.success and out.verified and out.quality == pytest.approx(0.7 * 0.75 + 0.3 * 1.0)
    # passing overall but a previously passing test is gone: still a failure
    assert not evidence.of_tests(run_of(passed=True, counts_known=True, tests_passed=3, newly_failing=["t::z"])).success


def test_without_counts_the_exit_code_decides_and_nothing_to_fix_counts_as_fixed() -> None:
    assert evidence.of_tests(run_of(passed=True)) == evidence.Outcome(True, 1.0, True)
    assert evidence.of_tests(run_of(passed=False, exit_code=2)) == evidence.Outcome(False, 0.3, True)
    unfixed = run_of(passed=False, counts_known=True, tests_passed=3, tests_failed=1, base_passed=3, base_failed=1)
    assert evidence.of_tests(unfixed).quality == pytest.approx(0.7 * 0.75)


def test_a_review_succeeds_only_when_every_finding_is_located() -> None:
    def review(*located: bool) -> evidence_pb2.Verification:
        found = [evidence_pb2.Finding(file="a.py", line=1, located=x) for x in located]
        return evidence_pb2.Verification(kind="review", decision="request_changes", findings=found)

    assert evidence.of_review(review(True, True)) == evidence.Outcome(True, 1.0, True)
    assert evidence.of_review(review(True, False)) == evidence.Outcome(False, 0.5, True)
    assert evidence.of_review(review()) == evidence.Outcome(True, 1.0, True)  # approve with nothing to say
    assert not evidence.of_review(evidence_pb2.Verification(kind="review")).success  # no decision


def test_what_is_verified_how() -> None:
    assert [evidence.kind_of(t) for t in ("coding", "testing", "devops", "review", "security", "documentation")] == [
        "tests", "tests", "tests", "review", "review", "self_report",
    ]  # fmt: skip
    assert evidence.self_report(True) == evidence.Outcome(True, 1.0, False)
    assert evidence.self_report(False) == evidence.Outcome(False, 0.0, False)
