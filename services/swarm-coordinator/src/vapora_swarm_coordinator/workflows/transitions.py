"""How a run moves, as pure functions on a :class:`Draft` (a copy of the run being changed).

The engine loads a run, applies one of these to a draft, writes the draft with one conditional
write (guarded by the run's version), and only then carries out the draft's effects (submit a
stage's task, cancel one). A function that finds nothing to do leaves the draft unchanged: an
event seen twice (a redelivery, a replay after a crash) changes nothing the second time.

- :func:`advance`: every pending stage whose needs are done (gates: approved) starts — a task
  stage gets a new attempt and its task is submitted, a gate waits for approval — unless the run
  is paused (then it is ``ready``, and starts on resume). Then the run's state is derived:
  succeeded when every stage is done/approved; paused; running while a stage runs; waiting for
  approval when only gates wait.
- :func:`outcome`: the task of a stage's current attempt finished. Success: the stage is done
  and its successors start. Failure: retried (a new attempt) up to ``retries`` times, then the
  run goes back to ``on_failure`` (at most ``max_failure_rounds`` times), else the run fails.
- :func:`timeout`: a stage running past its ``timeout_s``: its task is cancelled and the attempt
  counts as failed.
- :func:`approve`, :func:`reject`: a gate waiting for approval, by a person whose role is one of
  its approvers; the decision is recorded with the gate. A rejection sends the run back to
  ``on_reject`` (that stage gets a new attempt with the comment as its input; every stage
  downstream of it, the gate included, goes back to pending), at most ``max_rejections`` times;
  then, or with no ``on_reject``, the run fails.
- :func:`pause`, :func:`resume`, :func:`cancel`. Ending a run (failed, cancelled) cancels the
  tasks of its running stages; stages that never started are skipped.
"""

from __future__ import annotations

from vapora_core.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from vapora_swarm_coordinator.workflows import model
from vapora_swarm_coordinator.workflows.definitions import StageDef
from vapora_swarm_coordinator.workflows.draft import CancelTask, Draft, Effect, GateCall, Outcome, Submit
from vapora_swarm_coordinator.workflows.model import (
    APPROVED,
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    PENDING,
    READY,
    REJECTED,
    RESULT_LIMIT,
    RUNNING,
    SATISFIED,
    SKIPPED,
    SUCCEEDED,
    WAITING_APPROVAL,
    Decision,
    Run,
    Stage,
)

# -- progress ------------------------------------------------------------------------------------


def advance(d: Draft) -> None:
    """Start what may start, then derive the run's state (see the module docstring)."""
    run = d.run
    if run.final:
        return
    for sdef in run.template.stages:
        st = d.stage(sdef.id)
        needs_met = all(d.stage(n).state in SATISFIED for n in sdef.needs)
        if (st.state == PENDING and needs_met) or (st.state == READY and not run.paused):
            _begin(d, sdef)
    _derive(d)


def _begin(d: Draft, sdef: StageDef) -> None:
    if d.run.paused:
        d.update(sdef.id, state=READY)
    elif sdef.is_gate:
        d.update(sdef.id, state=WAITING_APPROVAL, started_s=d.now, finished_s=0.0, detail="")
    else:
        st = d.stage(sdef.id)
        attempt = st.attempt + 1
        d.update(
            sdef.id,
            state=RUNNING,
            attempt=attempt,
            task_id=model.task_id_for(d.run.id, sdef.id, attempt),
            task_type=sdef.task_type,
            agent_id="",
            started_s=d.now,
            deadline_s=d.now + sdef.timeout_s,
            finished_s=0.0,
        )
        d.effects.append(Submit(sdef.id))


def _derive(d: Draft) -> None:
    states = [s.state for s in d.run.stages.values()]
    if all(s in SATISFIED for s in states):
        d.set_run(state=SUCCEEDED, ended_s=d.now, paused=False)
    elif d.run.paused:
        d.set_run(state=PAUSED)
    elif RUNNING in states or READY in states:
        d.set_run(state=RUNNING)
    elif WAITING_APPROVAL in states:
        d.set_run(state=WAITING_APPROVAL)
    else:  # only pending stages whose needs can never be met: a template the checks let through
        _end(d, FAILED, "no stage can start")


def _end(d: Draft, state: str, detail: str) -> None:
    """End the run: running stages' tasks cancelled, waiting gates cancelled, the rest skipped."""
    for sid, st in d.run.stages.items():
        if st.state == RUNNING:
            d.effects.append(CancelTask(sid, st.task_id, detail))
            d.update(sid, state=CANCELLED, finished_s=d.now, detail=detail)
        elif st.state == WAITING_APPROVAL:
            d.update(sid, state=CANCELLED, finished_s=d.now, detail=detail)
        elif st.state in (PENDING, READY):
            d.update(sid, state=SKIPPED, detail=detail)
    d.set_run(state=state, ended_s=d.now, detail=detail, paused=False)


# -- task outcomes ----------------------------------------------------------------------------


def outcome(d: Draft, o: Outcome) -> None:
    """Apply ``o`` if it is the outcome of the stage's current attempt (else nothing changes)."""
    st = d.run.stages.get(o.stage_id)
    if st is None or d.run.final or st.state != RUNNING or st.task_id != o.task_id:
        return
    sdef = d.run.template.stage(o.stage_id)
    d.update(
        o.stage_id,
        agent_id=o.agent_id or st.agent_id,
        execution_id=o.execution_id,
        success=o.success,
        verified=o.verified,
        result=o.result[:RESULT_LIMIT],
        verdict=o.verdict,
        commit=o.commit,
        cost_cents=st.cost_cents + o.cost_cents,
        finished_s=d.now,
    )
    d.finished.append((o.stage_id, max(0.0, d.now - st.started_s)))
    if o.success:
        d.update(o.stage_id, state=DONE, detail="")
        advance(d)
    else:
        _failed_attempt(d, sdef, o.error or "the task failed")


def timeout(d: Draft, stage_id: str) -> None:
    """Fail the current attempt of ``stage_id`` if it has run past its timeout."""
    st = d.stage(stage_id)
    sdef = d.run.template.stage(stage_id)
    if d.run.final or st.state != RUNNING or d.now < st.deadline_s:
        return
    detail = f"attempt {st.attempt} timed out after {sdef.timeout_s:g}s"
    d.effects.append(CancelTask(stage_id, st.task_id, detail))
    d.update(stage_id, finished_s=d.now, success=False)
    d.finished.append((stage_id, d.now - st.started_s))
    _failed_attempt(d, sdef, detail)


def _failed_attempt(d: Draft, sdef: StageDef, detail: str) -> None:
    st = d.stage(sdef.id)
    failures = st.failures + 1
    if failures <= sdef.retries:
        d.update(sdef.id, state=READY, failures=failures, detail=f"attempt {st.attempt} failed: {detail}; retrying")
        advance(d)
    elif sdef.on_failure and st.rounds < sdef.max_failure_rounds:
        d.update(sdef.id, rounds=st.rounds + 1)
        reason = f"stage {sdef.id} failed ({detail}); back to {sdef.on_failure}"
        _send_back(d, sdef.on_failure, f"Stage {sdef.id} failed after attempt {st.attempt}: {detail}", reason)
        advance(d)
    else:
        message = f"stage {sdef.id} failed after {st.attempt} attempt(s): {detail}"
        d.update(sdef.id, state=FAILED, failures=failures, detail=detail)
        _end(d, FAILED, message)


def _send_back(d: Draft, target: str, comment: str, reason: str) -> None:
    """``target`` and everything downstream of it back to pending (running tasks cancelled);
    ``target`` gets ``comment`` as its input. :func:`advance` then starts ``target`` again."""
    template = d.run.template
    affected = {target} | template.descendants(target)
    for sdef in template.stages:
        if sdef.id not in affected:
            continue
        st = d.stage(sdef.id)
        if st.state == RUNNING:
            d.effects.append(CancelTask(sdef.id, st.task_id, reason))
        d.update(sdef.id, state=PENDING, failures=0, detail=reason)
    d.update(target, input_comment=comment)


# -- gates --------------------------------------------------------------------------------------


def _gate(d: Draft, gate_id: str, approving: bool) -> StageDef:
    """The gate named (or the one waiting when none is); errors a caller can act on."""
    run = d.run
    if not gate_id:
        waiting = [sid for sid, st in run.stages.items() if st.state == WAITING_APPROVAL]
        if len(waiting) > 1:
            raise InvalidArgument(f"run {run.id} has several gates waiting ({', '.join(waiting)}): name one")
        if waiting:
            gate_id = waiting[0]
        else:
            decided = [x for x in run.decisions if x.approved == approving]
            if not decided:
                raise FailedPrecondition(f"no gate of run {run.id} is waiting for approval (run {run.state})")
            gate_id = decided[-1].gate_id
    sdef = next((s for s in run.template.stages if s.id == gate_id), None)
    if sdef is None or not sdef.is_gate:
        raise NotFound(f"run {run.id} has no gate {gate_id!r}")
    return sdef


def _replayed(d: Draft, gate_id: str, approved: bool, call: GateCall) -> bool:
    """Whether this decision is the gate's last one, asked again (a retry after a lost answer)."""
    last = [x for x in d.run.decisions if x.gate_id == gate_id]
    return bool(last) and (last[-1].approved, last[-1].actor, last[-1].comment) == (approved, call.actor, call.comment)


def _decide(d: Draft, sdef: StageDef, approved: bool, call: GateCall) -> Stage | None:
    """The gate, checked and its decision recorded; None when the decision was made already."""
    st = d.stage(sdef.id)
    if st.state != WAITING_APPROVAL:
        if _replayed(d, sdef.id, approved, call):
            return None
        raise FailedPrecondition(f"gate {sdef.id} of run {d.run.id} is {st.state}, not waiting for approval")
    if call.role not in sdef.approvers:
        raise PermissionDenied(
            f"role {call.role or '(none)'!r} may not decide gate {sdef.id} (approvers: {', '.join(sdef.approvers)})"
        )
    decision = Decision(sdef.id, st.rejections + 1, approved, call.actor, call.role, call.comment, d.now)
    d.decisions.append(decision)
    d.run.decisions.append(decision)
    return st


def approve(d: Draft, call: GateCall) -> None:
    sdef = _gate(d, call.gate_id, True)
    if _decide(d, sdef, True, call) is None:
        return
    said = f": {call.comment}" if call.comment else ""
    d.update(sdef.id, state=APPROVED, finished_s=d.now, detail=f"approved by {call.actor}{said}")
    advance(d)


def reject(d: Draft, call: GateCall) -> None:
    if not call.comment.strip():
        raise InvalidArgument("a rejection needs a comment: it is what the stage sent back receives")
    sdef = _gate(d, call.gate_id, False)
    st = _decide(d, sdef, False, call)
    if st is None:
        return
    actor, comment = call.actor, call.comment
    rejections = st.rejections + 1
    if not sdef.on_reject or st.rejections >= sdef.max_rejections:
        limit = f" ({rejections} rejections; max_rejections is {sdef.max_rejections})" if sdef.on_reject else ""
        detail = f"gate {sdef.id} rejected by {actor}{limit}: {comment}"
        d.update(sdef.id, state=REJECTED, rejections=rejections, finished_s=d.now, detail=detail)
        _end(d, FAILED, detail)
        return
    d.update(sdef.id, rejections=rejections)
    reason = f"gate {sdef.id} rejected by {actor}; back to {sdef.on_reject}"
    _send_back(d, sdef.on_reject, f"Rejected at gate {sdef.id} by {actor} (round {rejections}): {comment}", reason)
    advance(d)


# -- control ------------------------------------------------------------------------------------


def pause(d: Draft) -> None:
    if d.run.final:
        raise FailedPrecondition(f"run {d.run.id} is {d.run.state}; only a run in progress can be paused")
    if not d.run.paused:
        d.set_run(paused=True, state=PAUSED)


def resume(d: Draft) -> None:
    if d.run.final:
        raise FailedPrecondition(f"run {d.run.id} is {d.run.state}; only a paused run can be resumed")
    if d.run.paused:
        d.set_run(paused=False)
        advance(d)


def cancel(d: Draft, actor: str, reason: str) -> None:
    if d.run.state == CANCELLED:
        return
    if d.run.final:
        raise FailedPrecondition(f"run {d.run.id} is {d.run.state}; it cannot be cancelled")
    _end(d, CANCELLED, f"cancelled by {actor or 'someone'}" + (f": {reason}" if reason else ""))


# A re-published task or cancel is dropped by JetStream only inside the duplicate window of its
# stream (one hour on TASKS and CANCELS): what a replay re-asserts stays well inside it.
REASSERT_WITHIN_S = 3000.0


def reassert(run: Run, now: float) -> list[Effect]:
    """The effects the run's current state implies, which a replay publishes again (each is then
    dropped by its msg id): the tasks of stages started, and the cancels of stages ended, within
    ``REASSERT_WITHIN_S``. An older one is left to the recovery's check of the task's assignment."""
    out: list[Effect] = []
    for sid, st in run.stages.items():
        if st.state == RUNNING and now - st.started_s < REASSERT_WITHIN_S:
            out.append(Submit(sid))
        elif st.state == CANCELLED and st.task_id and now - st.finished_s < REASSERT_WITHIN_S:
            out.append(CancelTask(sid, st.task_id, st.detail))
    return out
