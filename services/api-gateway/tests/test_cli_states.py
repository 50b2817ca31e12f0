"""The CLI colours a state the same in the task and the workflow commands: one map of them all."""

from __future__ import annotations

from vapora_api_gateway.cli_tables import state_text


def test_task_and_run_states_have_their_colours_and_an_unknown_one_is_white() -> None:
    assert state_text("assigned") == "[cyan]assigned[/]"
    assert state_text("waiting_approval") == "[cyan]waiting_approval[/]"
    assert state_text("succeeded") == "[green]succeeded[/]" and state_text("done") == "[green]done[/]"
    assert state_text("paused") == "[blue]paused[/]"
    assert state_text("no-such-state") == "[white]no-such-state[/]"
