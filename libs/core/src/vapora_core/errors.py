"""The one error hierarchy of Vapora.

Every error says whether retrying can help (``retryable``); retry policies in
:mod:`vapora_core.retry` retry only those. Errors are mapped once, at the edge:
gRPC status codes in :mod:`vapora_core.grpc`, HTTP problem bodies in the gateway,
ack / nak / dead-letter in :mod:`vapora_core.bus`. An error whose data a caller acts on
(:class:`BudgetExceeded`) crosses gRPC whole: :meth:`VaporaError.details` travels in trailing
metadata and :func:`rebuild` makes the same typed error again on the client side.

::

    VaporaError
    ├── InvalidArgument          (not retryable)  bad input; names what was wrong
    │   ├── DecodeError          a payload that is not the protobuf message it should be
    │   ├── ConfigError          a config file or setting that does not validate
    │   └── PayloadTooLarge      a message bigger than the limit of where it goes (NATS max_payload)
    ├── NotFound                 (not retryable)
    ├── AlreadyExists            (not retryable)
    ├── PermissionDenied         (not retryable)
    ├── Unauthenticated          (not retryable)
    ├── FailedPrecondition       (not retryable)
    │   ├── StoreLocked          another process holds the embedded store
    │   └── NoRepository         a job's project has no repository to work in: project_id
    ├── ResourceExhausted        (not retryable by default; budgets, rate limits)
    │   └── BudgetExceeded       a budget cannot pay for a call: scope, owner, limit, cap, spent
    ├── Unavailable              (retryable)   a dependency is down or overloaded
    │   ├── Conflict             a compare-and-set lost its race: the key changed since it was read
    │   └── PublishFailed        a stream did not acknowledge a publish: subject, status, whether it may be stored
    ├── DeadlineExceeded         (retryable)
    └── Internal                 (not retryable)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal


class VaporaError(Exception):
    """Root of every error Vapora raises on purpose."""

    retryable: bool = False
    code: str = "internal"

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, str]:
        """The error's data as text, for the wire (gRPC trailing metadata); empty for most errors."""
        return {}


class InvalidArgument(VaporaError):
    code = "invalid_argument"


class DecodeError(InvalidArgument):
    code = "decode_error"


class ConfigError(InvalidArgument):
    code = "config_error"

    def __init__(self, message: str, *, source: str = "", field: str = "") -> None:
        where = ": ".join(p for p in (source, field) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.field = field


class PayloadTooLarge(InvalidArgument):
    code = "payload_too_large"

    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} is {size:,} bytes encoded; at most {limit:,} fit (the NATS server's max_payload)")
        self.what = what
        self.size = size
        self.limit = limit


class NotFound(VaporaError):
    code = "not_found"


class AlreadyExists(VaporaError):
    code = "already_exists"


class PermissionDenied(VaporaError):
    code = "permission_denied"


class Unauthenticated(VaporaError):
    """No credentials, or ones that do not verify (gRPC UNAUTHENTICATED, HTTP 401)."""

    code = "unauthenticated"


class FailedPrecondition(VaporaError):
    code = "failed_precondition"


class StoreLocked(FailedPrecondition):
    code = "store_locked"

    def __init__(self, path: str, holder: str) -> None:
        super().__init__(
            f"the embedded store {path} is already open in another process ({holder}); "
            "stop that process or point VAPORA_STORE_URL at another path"
        )
        self.path = path
        self.holder = holder


class NoRepository(FailedPrecondition):
    """A job's project has no git repository (or the task no project): there is no worktree to
    prepare, and the job works without one. Crosses gRPC whole (``project_id``)."""

    code = "no_repository"

    def __init__(self, project_id: str, message: str = "") -> None:
        self.project_id = project_id
        super().__init__(
            message
            or (
                f"project {project_id!r} has no repository: attach one to work on code"
                if project_id
                else "the task has no project: there is no repository to work in"
            )
        )

    def details(self) -> dict[str, str]:
        return {"project_id": self.project_id}


class ResourceExhausted(VaporaError):
    code = "resource_exhausted"


BudgetScope = Literal["task", "role"]
BudgetLimit = Literal["cost", "tokens"]


class BudgetExceeded(ResourceExhausted):
    """A budget cannot pay for the call, not even a minimal answer.

    ``scope`` ``task``: the task's own cap (``owner`` = task id); ``role``: the role's budget
    window (``owner`` = role, ``window`` = monthly or weekly). ``limit`` says which kind of cap:
    ``cost`` (``cap``, ``spent``, ``reserved``, ``needed`` in cents) or ``tokens``. ``needed`` is
    what the smallest call would have taken. Not retryable: the cap stays reached.
    """

    code = "budget_exceeded"

    def __init__(
        self,
        *,
        scope: BudgetScope,
        owner: str,
        limit: BudgetLimit,
        cap: float,
        spent: float,
        reserved: float = 0.0,
        needed: float = 0.0,
        window: str = "",
        message: str = "",
    ) -> None:
        self.scope: BudgetScope = scope
        self.owner = owner
        self.limit: BudgetLimit = limit
        self.cap = cap
        self.spent = spent
        self.reserved = reserved
        self.needed = needed
        self.window = window
        super().__init__(message or self._describe())

    def _describe(self) -> str:
        unit = "¢" if self.limit == "cost" else " tokens"
        kind = "cost" if self.limit == "cost" else "token"
        what = (
            f"the {kind} cap of task {self.owner}"
            if self.scope == "task"
            else f"the {self.window} budget of role {self.owner}"
        )
        return (
            f"{what} ({self.cap:g}{unit}) is reached: {self.spent:g}{unit} spent, {self.reserved:g}{unit} "
            f"reserved, and the smallest call needs {self.needed:g}{unit}"
        )

    def details(self) -> dict[str, str]:
        return {
            "scope": self.scope,
            "owner": self.owner,
            "limit": self.limit,
            "cap": repr(self.cap),
            "spent": repr(self.spent),
            "reserved": repr(self.reserved),
            "needed": repr(self.needed),
            "window": self.window,
        }

    @classmethod
    def from_details(cls, message: str, details: Mapping[str, str]) -> BudgetExceeded:
        scope = details.get("scope", "")
        limit = details.get("limit", "")
        if scope not in ("task", "role") or limit not in ("cost", "tokens"):
            raise ValueError(f"not a budget error: scope {scope!r}, limit {limit!r}")
        return cls(
            scope="task" if scope == "task" else "role",
            owner=details.get("owner", ""),
            limit="cost" if limit == "cost" else "tokens",
            cap=float(details.get("cap", "0")),
            spent=float(details.get("spent", "0")),
            reserved=float(details.get("reserved", "0")),
            needed=float(details.get("needed", "0")),
            window=details.get("window", ""),
            message=message,
        )


class Unavailable(VaporaError):
    retryable = True
    code = "unavailable"


class Conflict(Unavailable):
    """A compare-and-set found the key changed since it was read (another replica wrote first).
    Retryable: read again and try again (:mod:`vapora_core.kv` does, a bounded number of times)."""

    code = "conflict"

    def __init__(self, message: str, *, bucket: str = "", key: str = "") -> None:
        super().__init__(message)
        self.bucket = bucket
        self.key = key


class PublishFailed(Unavailable):
    """A JetStream publish its stream did not acknowledge.

    ``status``: 503 when no stream answered or JetStream said it cannot store now (an election,
    a node down: the message was not stored), 408 when no answer came in time, JetStream's own
    error code when it refused the message. ``maybe_stored``: whether the message may have been
    stored all the same (no answer in time, or an answer that did not read): only a publish with
    a message id may then be sent again, as the stream drops the copy."""

    def __init__(self, subject: str, reason: str, *, status: int, maybe_stored: bool) -> None:
        super().__init__(f"publishing on {subject} failed: {reason}")
        self.subject = subject
        self.status = status
        self.maybe_stored = maybe_stored


class DeadlineExceeded(VaporaError):
    retryable = True
    code = "deadline_exceeded"


class Internal(VaporaError):
    code = "internal"


def rebuild(code: str, message: str, details: Mapping[str, str]) -> VaporaError | None:
    """The typed error a remote service raised, from its ``code`` and :meth:`~VaporaError.details`;
    None when ``code`` names no error that carries data (the caller maps the status code instead)."""
    if code == BudgetExceeded.code:
        try:
            return BudgetExceeded.from_details(message, details)
        except ValueError:
            return None
    if code == NoRepository.code:
        return NoRepository(details.get("project_id", ""), message)
    return None
