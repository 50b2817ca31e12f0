"""Job tokens: which agent holds which job, signed by the swarm-coordinator.

A job token is a JWT signed with EdDSA (Ed25519). The coordinator mints one when it assigns a
job (:class:`JobSigner`, private key ``VAPORA_JOB_SIGNING_KEY``); every service an agent calls
with it (mcp-gateway, llm-router) checks it (:class:`JobVerifier`, public key
``VAPORA_JOB_VERIFY_KEY``) and takes the caller's identity from its claims, never from plain
request fields or headers. It travels as ``authorization: Bearer <token>`` (gRPC metadata or an
HTTP header).

Claims (all required)::

    sub      agent id                  job      job id
    role     the agent's role          project  project id ("" when none)
    ws       workspace id              tools    the agent's allowed_tools (exact "server.tool" or "server.*")
    task     task id                   iat/exp  issued at / expires at (Unix seconds)

A missing, malformed, forged or expired token raises :class:`~vapora_core.errors.Unauthenticated`
with the reason. A key setting holds the PEM itself or ``@path`` of a PEM file.

The coordinator signs a token per job on its hot path, so :class:`JobSigner` writes the JWS
compact form itself (the fixed header encoded once, the claims written as the compact JSON
``json.dumps`` makes of :meth:`JobClaims.payload`, with its own string escaping) and signs with
libsodium (PyNaCl), whose Ed25519 needs no per-call setup as OpenSSL's does: the same bytes
``jwt.encode`` makes (Ed25519 signatures are deterministic), for less CPU.

An agent sends the same token on every call of its job, so a verifier keeps the claims of the
tokens it verified (the last ``cache_size``): the signature of a token is checked once, and each
later call of it only checks its expiry again. A token that failed is never kept.
"""

from __future__ import annotations

import base64
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vapora_core.errors import ConfigError, Unauthenticated

ALGORITHM = "EdDSA"
SIGNING_KEY_SETTING = "VAPORA_JOB_SIGNING_KEY"
VERIFY_KEY_SETTING = "VAPORA_JOB_VERIFY_KEY"
METADATA_KEY = "authorization"
_REQUIRED = ("sub", "role", "ws", "task", "job", "project", "tools", "iat", "exp")
_NON_EMPTY = ("sub", "ws", "task", "job")
_quote = json.encoder.encode_basestring_ascii  # a JSON string as json.dumps writes it (ensure_ascii)


def _b64(data: bytes) -> bytes:
    """base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


# the protected header of every job token, as PyJWT writes it (keys sorted)
_HEADER = _b64(json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":"), sort_keys=True).encode())


@dataclass(frozen=True, slots=True)
class JobClaims:
    """Who holds a job: the verified identity of an agent's call."""

    agent_id: str
    role: str
    workspace_id: str
    task_id: str
    job_id: str
    project_id: str = ""
    tools: tuple[str, ...] = ()
    issued_at: int = 0
    expires_at: int = 0

    @classmethod
    def issue(
        cls,
        *,
        agent_id: str,
        role: str,
        workspace_id: str,
        task_id: str,
        job_id: str,
        lifetime_s: float,
        project_id: str = "",
        tools: Iterable[str] = (),
        now: float | None = None,
    ) -> JobClaims:
        """Claims valid from ``now`` (default: the clock) for ``lifetime_s`` seconds."""
        issued = int(time.time() if now is None else now)
        return cls(
            agent_id=agent_id,
            role=role,
            workspace_id=workspace_id,
            task_id=task_id,
            job_id=job_id,
            project_id=project_id,
            tools=tuple(tools),
            issued_at=issued,
            expires_at=issued + max(1, int(lifetime_s)),
        )

    def payload_json(self) -> str:
        """:meth:`payload` as compact JSON, exactly as ``json.dumps(payload, separators=(",", ":"))``
        writes it (PyJWT's form), without building the dict or an encoder."""
        q = _quote
        return (
            f'{{"sub":{q(self.agent_id)},"role":{q(self.role)},"ws":{q(self.workspace_id)},'
            f'"task":{q(self.task_id)},"job":{q(self.job_id)},"project":{q(self.project_id)},'
            f'"tools":[{",".join(map(q, self.tools))}],"iat":{self.issued_at},"exp":{self.expires_at}}}'
        )

    def payload(self) -> dict[str, Any]:
        return {
            "sub": self.agent_id,
            "role": self.role,
            "ws": self.workspace_id,
            "task": self.task_id,
            "job": self.job_id,
            "project": self.project_id,
            "tools": list(self.tools),
            "iat": self.issued_at,
            "exp": self.expires_at,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> JobClaims:
        """Claims from a verified payload; a missing or mistyped claim is :class:`Unauthenticated`."""
        for name in _REQUIRED:
            if name not in payload:
                raise Unauthenticated(f"the job token has no {name!r} claim")
        for name in ("sub", "role", "ws", "task", "job", "project"):
            if not isinstance(payload[name], str):
                raise Unauthenticated(f"the job token's {name!r} claim must be a string")
        for name in _NON_EMPTY:
            if not payload[name]:
                raise Unauthenticated(f"the job token's {name!r} claim is empty")
        tools = payload["tools"]
        if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
            raise Unauthenticated("the job token's 'tools' claim must be a list of strings")
        return cls(
            agent_id=payload["sub"],
            role=payload["role"],
            workspace_id=payload["ws"],
            task_id=payload["task"],
            job_id=payload["job"],
            project_id=payload["project"],
            tools=tuple(tools),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )


def read_key(value: str, *, setting: str) -> str:
    """The PEM a key setting holds: the text itself, or the file named by ``@path``."""
    value = value.strip()
    if not value:
        raise ConfigError("is not set: give a PEM key or @path of a PEM file", field=setting)
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", field=setting) from exc
    return value


def _load_private(pem: str, setting: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"not a PEM private key: {exc}", field=setting) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"must be an Ed25519 key, got {type(key).__name__}", field=setting)
    return key


def _load_public(pem: str, setting: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"not a PEM public key: {exc}", field=setting) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"must be an Ed25519 key, got {type(key).__name__}", field=setting)
    return key


class JobSigner:
    """Mints job tokens with the coordinator's private key."""

    def __init__(self, private_pem: str, *, setting: str = SIGNING_KEY_SETTING) -> None:
        seed = _load_private(private_pem, setting).private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        self._key = nacl.signing.SigningKey(seed)

    @classmethod
    def from_setting(cls, value: str, *, setting: str = SIGNING_KEY_SETTING) -> JobSigner:
        return cls(read_key(value, setting=setting), setting=setting)

    def sign(self, claims: JobClaims) -> str:
        """The token of ``claims``: ``header.payload.signature``, each base64url (RFC 7515)."""
        signing_input = _HEADER + b"." + _b64(claims.payload_json().encode())
        return (signing_input + b"." + _b64(self._key.sign(signing_input).signature)).decode("ascii")


class JobVerifier:
    """Checks job tokens with the coordinator's public key; ``leeway_s`` allows for clock skew.

    The claims of the last ``cache_size`` tokens that verified are kept (their signature is not
    checked again, their expiry is, against ``clock``)."""

    def __init__(
        self,
        public_pem: str,
        *,
        leeway_s: float = 5.0,
        setting: str = VERIFY_KEY_SETTING,
        cache_size: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = _load_public(public_pem, setting)
        self._leeway_s = leeway_s
        self._cache_size = cache_size
        self._clock = clock
        self._verified: OrderedDict[str, JobClaims] = OrderedDict()

    @classmethod
    def from_setting(cls, value: str, *, setting: str = VERIFY_KEY_SETTING) -> JobVerifier:
        return cls(read_key(value, setting=setting), setting=setting)

    def verify(self, token: str) -> JobClaims:
        if not token:
            raise Unauthenticated("no job token")
        claims = self._verified.get(token)
        if claims is not None:
            if claims.expires_at <= self._clock() - self._leeway_s:  # as PyJWT decides expiry
                raise Unauthenticated("the job token has expired")
            self._verified.move_to_end(token)
            return claims
        claims = self._decode(token)
        if self._cache_size > 0:
            self._verified[token] = claims
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> JobClaims:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                leeway=self._leeway_s,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the job token has expired") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the job token's signature does not verify (not signed by the coordinator)") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the job token is not valid: {exc}") from None
        return JobClaims.from_payload(payload)

    def verify_bearer(self, header: str | None) -> JobClaims:
        """Claims of an ``Authorization: Bearer <job token>`` value."""
        return self.verify(bearer_token(header))


def bearer_token(header: str | None) -> str:
    """The token of an ``authorization`` value; missing or not ``Bearer`` is :class:`Unauthenticated`."""
    if not header or not header.strip():
        raise Unauthenticated("no job token: send 'authorization: Bearer <job token>'")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the authorization value must be 'Bearer <job token>'")
    return token.strip()


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """gRPC call metadata carrying ``token``."""
    return ((METADATA_KEY, f"Bearer {token}"),)


def generate_key_pair() -> tuple[str, str]:
    """A new Ed25519 key pair as (private PEM, public PEM): for the fleet launcher and tests."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()
