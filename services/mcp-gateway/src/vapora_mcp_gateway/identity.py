"""Who is calling: the job token of a gRPC call's metadata or an HTTP request's header, verified.

Identity is never taken from plain fields or headers. A request's own ``workspace_id``,
``agent_id`` and ``task_id`` may be left empty; when given they must equal the token's, or
the call is refused (PERMISSION_DENIED naming the field): the token decides.
"""

from __future__ import annotations

from vapora_core.errors import PermissionDenied, Unauthenticated
from vapora_core.jobtoken import JobVerifier
from vapora_mcp_gateway import metrics
from vapora_mcp_gateway.models import CallContext


class Authenticator:
    def __init__(self, verifier: JobVerifier) -> None:
        self._verifier = verifier

    def caller(
        self,
        authorization: str | None,
        *,
        via: str,
        workspace_id: str = "",
        agent_id: str = "",
        task_id: str = "",
    ) -> CallContext:
        """The verified caller of one request; :class:`Unauthenticated` without a valid token."""
        try:
            claims = self._verifier.verify_bearer(authorization)
        except Unauthenticated:
            metrics.UNAUTHENTICATED.labels(via).inc()
            raise
        for field, given, verified in (
            ("workspace_id", workspace_id, claims.workspace_id),
            ("agent_id", agent_id, claims.agent_id),
            ("task_id", task_id, claims.task_id),
        ):
            if given and given != verified:
                raise PermissionDenied(
                    f"{field} {given!r} is not the job token's ({verified!r}): leave it empty or give the token's"
                )
        return CallContext(claims=claims, via=via)
