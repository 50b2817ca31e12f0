"""What an execution's outcome rests on, and the success and quality it gives.

By task type (:func:`kind_of`):

- ``coding``, ``testing``, ``devops`` — **tests**: mcp-gateway's ``VerifyWorktree`` ran the
  project's test command on the job's commit and on its start point. Success: the command passed
  and no test that passed on the start point fails now. Quality (0–1)::

      0.7 · pass_rate + 0.3 · fixed

  ``pass_rate`` = passed / (passed + failed + errors) on the commit (1 or 0 by the exit code when
  the tool reported no counts); ``fixed`` = newly passing / failing on the start point (1 when
  nothing failed there). A change that makes every failing test pass and keeps the rest is 1.0.
- ``review``, ``security`` — **review**: the reviewer's structured verdict (:mod:`.verdict`)
  whose findings mcp-gateway located in the reviewed tree. Success: a valid verdict every finding
  of which names a real file and line; quality: the share of findings located (1.0 with none).
- anything else, or no repository to verify in, or a verdict that never parsed — a
  **self_report**: the model's own word, ``verified = false`` (never counted in a profile).

The offline provider's answers are never verified (``verified = false``): whatever the tests
say, no profile counts them (:mod:`.codework`).
"""

from __future__ import annotations

from dataclasses import dataclass

from vapora.common.v1 import evidence_pb2

TESTED = frozenset({"coding", "testing", "devops"})
REVIEWED = frozenset({"review", "security"})


def kind_of(task_type: str) -> str:
    if task_type in TESTED:
        return "tests"
    if task_type in REVIEWED:
        return "review"
    return "self_report"


@dataclass(frozen=True, slots=True)
class Outcome:
    success: bool
    quality: float
    verified: bool


def of_tests(v: evidence_pb2.Verification) -> Outcome:
    ran = v.tests_passed + v.tests_failed + v.tests_errors
    pass_rate = v.tests_passed / ran if v.counts_known and ran else (1.0 if v.passed else 0.0)
    fixed = min(1.0, len(v.newly_passing) / v.base_failed) if v.base_failed else 1.0
    success = v.passed and not v.newly_failing
    return Outcome(success, round(0.7 * pass_rate + 0.3 * fixed, 4), True)


def of_review(v: evidence_pb2.Verification) -> Outcome:
    findings = list(v.findings)
    located = sum(f.located for f in findings)
    share = located / len(findings) if findings else 1.0
    return Outcome(bool(v.decision) and located == len(findings), round(share, 4), True)


def self_report(final_answer: bool) -> Outcome:
    return Outcome(final_answer, 1.0 if final_answer else 0.0, False)
