"""A reviewer's structured verdict, read from its final answer.

Review and security tasks end with a fenced JSON block (the last one in the answer)::

    ```json
    {"decision": "approve" | "request_changes",
     "findings": [{"file": "src/app.py", "line": 12, "severity": "high", "message": "..."}]}
    ```

:func:`parse_verdict` reads it or raises :class:`VerdictError` saying what is wrong, so the
runtime can ask the model once more (:data:`ASK_AGAIN`) before it falls back to a self-report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from vapora.common.v1 import evidence_pb2

DECISIONS = ("approve", "request_changes")
SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_FINDINGS = 200
_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)```", re.S | re.I)

FORMAT = (
    "End your answer with your verdict as one fenced JSON block:\n"
    '```json\n{"decision": "approve" or "request_changes", "findings": [{"file": "path/in/repo.py", '
    '"line": 12, "severity": "critical|high|medium|low|info", "message": "what is wrong and the fix"}]}\n```\n'
    "Every finding names a file of the repository (relative to its top) and a line of it."
)
ASK_AGAIN = "Your answer had no valid verdict ({reason}). Answer again with only the verdict.\n" + FORMAT


class VerdictError(ValueError):
    """The answer holds no verdict, or one that is not what :data:`FORMAT` asks for."""


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: str
    findings: tuple[evidence_pb2.Finding, ...]


def _finding(i: int, raw: object) -> evidence_pb2.Finding:
    if not isinstance(raw, dict):
        raise VerdictError(f"findings[{i}] is not an object")
    file, line = raw.get("file"), raw.get("line")
    if not isinstance(file, str) or not file.strip():
        raise VerdictError(f"findings[{i}].file must be a non-empty string")
    if isinstance(line, bool) or not isinstance(line, int) or line < 1:
        raise VerdictError(f"findings[{i}].line must be a line number (1 or more)")
    severity = raw.get("severity", "medium")
    if severity not in SEVERITIES:
        raise VerdictError(f"findings[{i}].severity must be one of {', '.join(SEVERITIES)}")
    message = raw.get("message", "")
    if not isinstance(message, str):
        raise VerdictError(f"findings[{i}].message must be a string")
    return evidence_pb2.Finding(file=file.strip(), line=line, severity=severity, message=message[:2000])


def parse_verdict(answer: str) -> Verdict:
    blocks = _FENCE.findall(answer)
    if not blocks:
        raise VerdictError("no fenced JSON block")
    try:
        raw = json.loads(blocks[-1])
    except ValueError as exc:
        raise VerdictError(f"the last fenced block is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise VerdictError("the verdict must be a JSON object")
    decision = raw.get("decision")
    if decision not in DECISIONS:
        raise VerdictError(f"decision must be {' or '.join(DECISIONS)}, not {decision!r}")
    findings = raw.get("findings", [])
    if not isinstance(findings, list):
        raise VerdictError("findings must be a list")
    if len(findings) > MAX_FINDINGS:
        raise VerdictError(f"at most {MAX_FINDINGS} findings, not {len(findings)}")
    return Verdict(str(decision), tuple(_finding(i, f) for i, f in enumerate(findings)))
