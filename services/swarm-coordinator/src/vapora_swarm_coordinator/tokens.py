"""The job token each ``JobAssigned`` carries: who holds the job, signed by the coordinator.

The coordinator is the authority on which agent holds which job, so it signs the token
(:mod:`vapora_core.jobtoken`, key ``VAPORA_JOB_SIGNING_KEY``) when it announces a job: the
agent, its role and its ``allowed_tools`` as the registry told the coordinator, the task's
workspace, task, job and project. A token lives as long as the job may run
(``VAPORA_JOB_TIMEOUT_S``, after which the job is reassigned under a new job id) plus
``GRACE_S`` for the work after the loop (commit, verification). Issued at the assignment's own
time, so announcing a record again (a redelivery) signs the same claims.

A signature is the costly part (Ed25519, :mod:`vapora_core.jobtoken` through libsodium); a batch's
tokens are signed together (:meth:`JobTokens.sign_all`) on the event loop.

Without a signing key the coordinator announces jobs with no token: their agents can call no
tool (mcp-gateway refuses a call without one). The coordinator says so once at start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from vapora.agents.v1 import agents_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.jobtoken import JobClaims, JobSigner
from vapora_swarm_coordinator.records import Row

log = logging.getLogger("vapora.coordinator.tokens")

GRACE_S = 300.0


@dataclass(frozen=True, slots=True)
class JobTokens:
    signer: JobSigner
    job_timeout_s: float

    def for_job(self, row: Row, task: tasks_pb2.Task, agent: agents_pb2.Agent | None) -> str:
        """The token of ``row``'s job; an agent the view no longer knows gets no tools."""
        return self.signer.sign(self.claims(row, task, agent))

    def claims(self, row: Row, task: tasks_pb2.Task, agent: agents_pb2.Agent | None) -> JobClaims:
        """What the token of ``row``'s job says (see :meth:`for_job`)."""
        return JobClaims.issue(
            agent_id=str(row["agent_id"]),
            role=agent.role if agent is not None else "",
            workspace_id=str(row["workspace_id"]),
            task_id=str(row["task_id"]),
            job_id=str(row["job_id"]),
            project_id=task.project_id,
            tools=agent.allowed_tools if agent is not None else (),
            lifetime_s=self.job_timeout_s + GRACE_S,
            now=float(row["assigned_s"]),
        )

    def sign_all(self, claims: Sequence[JobClaims]) -> list[str]:
        """The tokens of ``claims``, in order."""
        sign = self.signer.sign
        return [sign(c) for c in claims]


def job_tokens(signing_key: str, job_timeout_s: float) -> JobTokens | None:
    """The coordinator's token minter from its key setting (PEM or ``@path``); None without one."""
    if not signing_key:
        log.warning("VAPORA_JOB_SIGNING_KEY is not set: jobs carry no token, so agents can call no tool")
        return None
    return JobTokens(JobSigner.from_setting(signing_key), job_timeout_s)
