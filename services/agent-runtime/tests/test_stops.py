"""Stops without I/O: a stopped job does not start, a running one is cancelled, the memory is bounded."""

from __future__ import annotations

import asyncio

import pytest

from vapora.coordinator.v1 import coordinator_pb2
from vapora_agent_runtime.stops import Stops
from vapora_core.errors import InvalidArgument


def stop(job_id: str) -> coordinator_pb2.JobStopped:
    return coordinator_pb2.JobStopped(job_id=job_id, task_id="t-1", workspace_id="ws-1", agent_id="developer")


async def test_a_job_stopped_before_it_starts_never_runs() -> None:
    stops = Stops()
    ran = False

    async def job() -> str:
        nonlocal ran
        ran = True
        return "done"

    await stops.on_stop(stop("j-1"))
    assert stops.stopped("j-1")
    assert await stops.run("j-1", job()) is None
    assert not ran


class Blocking:
    """A job that runs until it is cancelled, and says whether it started and was cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = False

    async def __call__(self) -> str:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return "never"


async def test_a_job_stopped_while_it_runs_is_cancelled() -> None:
    stops, job = Stops(), Blocking()
    running = asyncio.create_task(stops.run("j-1", job()))
    await job.started.wait()
    await stops.on_stop(stop("j-1"))
    assert await asyncio.wait_for(running, 2) is None
    assert job.cancelled


async def test_a_job_not_stopped_returns_its_result_and_a_stop_of_another_job_does_not_touch_it() -> None:
    stops = Stops()
    release = asyncio.Event()

    async def job() -> str:
        await release.wait()
        return "done"

    running = asyncio.create_task(stops.run("j-1", job()))
    await asyncio.sleep(0)
    await stops.on_stop(stop("j-other"))
    release.set()
    assert await asyncio.wait_for(running, 2) == "done"
    assert not stops.stopped("j-1")


async def test_errors_of_the_job_propagate() -> None:
    async def job() -> str:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await Stops().run("j-1", job())


async def test_the_stopped_ids_are_bounded_and_the_oldest_forgotten_first() -> None:
    stops = Stops(keep=3)
    for i in range(5):
        await stops.on_stop(stop(f"j-{i}"))
    assert [stops.stopped(f"j-{i}") for i in range(5)] == [False, False, True, True, True]
    await stops.on_stop(stop("j-2"))  # stopped again: now the newest
    await stops.on_stop(stop("j-5"))
    assert [stops.stopped(f"j-{i}") for i in range(6)] == [False, False, True, False, True, True]


async def test_cancelling_the_caller_propagates_and_cancels_the_job() -> None:
    stops, job = Stops(), Blocking()
    caller = asyncio.create_task(stops.run("j-1", job()))
    await job.started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert job.cancelled
    assert not stops.stopped("j-1")
    assert await stops.run("j-1", asyncio.sleep(0, "again")) == "again"  # unregistered, runs again


async def test_cancelling_the_caller_propagates_even_when_the_job_was_stopped_too() -> None:
    stops, job = Stops(), Blocking()
    caller = asyncio.create_task(stops.run("j-1", job()))
    await job.started.wait()
    caller.cancel()  # shutdown ...
    await stops.on_stop(stop("j-1"))  # ... and a stop at the same time: shutdown wins
    with pytest.raises(asyncio.CancelledError):
        await caller


async def test_a_stop_without_job_id_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="JobStopped without job_id"):
        await Stops().on_stop(coordinator_pb2.JobStopped(task_id="t-1"))
