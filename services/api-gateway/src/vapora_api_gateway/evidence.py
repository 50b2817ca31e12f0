"""An execution's evidence as the API shows it: the artifacts of its commit and its verification."""

from __future__ import annotations

from typing import Any

from vapora.common.v1 import evidence_pb2


def artifacts_dict(a: evidence_pb2.Artifacts) -> dict[str, Any]:
    return {
        "commit": a.commit,
        "branch": a.branch,
        "base": a.base,
        "start_branch": a.start_branch,
        "files_changed": list(a.files_changed),
        "insertions": a.insertions,
        "deletions": a.deletions,
        "advanced": a.advanced,
        "merge_commit": a.merge_commit,
    }


def verification_dict(v: evidence_pb2.Verification) -> dict[str, Any]:
    return {
        "kind": v.kind,
        "command": v.command,
        "passed": v.passed,
        "exit_code": v.exit_code,
        "timed_out": v.timed_out,
        "counts_known": v.counts_known,
        "tests_passed": v.tests_passed,
        "tests_failed": v.tests_failed,
        "tests_errors": v.tests_errors,
        "tests_skipped": v.tests_skipped,
        "base_passed": v.base_passed,
        "base_failed": v.base_failed,
        "newly_passing": list(v.newly_passing),
        "newly_failing": list(v.newly_failing),
        "output": v.output,
        "tested_commit": v.tested_commit,
        "base": v.base,
        "sandbox": v.sandbox,
        "duration_s": v.duration_s,
        "decision": v.decision,
        "findings": [
            {"file": f.file, "line": f.line, "severity": f.severity, "message": f.message, "located": f.located}
            for f in v.findings
        ],
        "detail": v.detail,
    }
