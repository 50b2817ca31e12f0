"""The one error hierarchy of Vapora.

Every error says whether retrying can help (``retryable``); retry policies in
:mod:`vapora_core.retry` retry only those. Errors are mapped once, at the edge:
gRPC status codes in :mod:`vapora_core.grpc`, HTTP problem bodies in the gateway,
ack / nak / dead-letter in :mod:`vapora_core.bus`.

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
    │   └── StoreLocked          another process holds the embedded store
    ├── ResourceExhausted        (not retryable by default; budgets, rate limits)
    ├── Unavailable              (retryable)   a dependency is down or overloaded
    ├── DeadlineExceeded         (retryable)
    └── Internal                 (not retryable)
"""

from __future__ import annotations


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


class ResourceExhausted(VaporaError):
    code = "resource_exhausted"


class Unavailable(VaporaError):
    retryable = True
    code = "unavailable"


class DeadlineExceeded(VaporaError):
    retryable = True
    code = "deadline_exceeded"


class Internal(VaporaError):
    code = "internal"
