"""message_check's quick first pass and its field-by-field walk agree on every message."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus.validate import BOUNDS, EARLIEST_S
from vapora_core.errors import InvalidArgument
from vapora_core.message_check import Limits, Rules, check_message

LATEST_S = 1_900_000_000.0
QUICK = Rules(earliest_s=EARLIEST_S, latest_s=LATEST_S, bounds=BOUNDS)
# with limits no message can reach, check_message walks every field (its path for requests)
WALKED = Rules(
    earliest_s=EARLIEST_S,
    latest_s=LATEST_S,
    bounds=BOUNDS,
    limits=Limits(id_bytes=1 << 30, string_bytes=1 << 30, items=1 << 30),
)
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
SECONDS = st.integers(min_value=-62_135_596_800, max_value=253_402_300_799)


def verdict(message: object, rules: Rules) -> str:
    try:
        check_message(message, rules)  # type: ignore[arg-type]
    except InvalidArgument as exc:
        return str(exc)
    return "ok"


@settings(max_examples=400, deadline=None)
@given(text=TEXT, cost=FLOATS, quality=FLOATS, tokens=INTS, attempt=st.integers(-(2**31), 2**31 - 1), seconds=SECONDS)
def test_executions_get_the_same_verdict_either_way(
    text: str, cost: float, quality: float, tokens: int, attempt: int, seconds: int
) -> None:
    e = kg_pb2.ExecutionRecorded(
        execution_id=text, result=text, cost_cents=cost, quality=quality, input_tokens=tokens, attempt=attempt
    )
    e.finished_at.seconds = seconds
    assert verdict(e, QUICK) == verdict(e, WALKED)


@settings(max_examples=400, deadline=None)
@given(title=TEXT, key=TEXT, value=TEXT, priority=st.integers(-(2**31), 2**31 - 1), seconds=SECONDS)
def test_tasks_get_the_same_verdict_either_way(title: str, key: str, value: str, priority: int, seconds: int) -> None:
    task = tasks_pb2.Task(id="t", title=title, labels={key: value} if key else {})
    task.priority = priority  # type: ignore[assignment]
    task.created_at.seconds = seconds
    message = tasks_pb2.TaskSubmitted(task=task)
    assert verdict(message, QUICK) == verdict(message, WALKED)
