"""Credentials: argon2id password hashes, JWT access/refresh tokens, API tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from vapora_core.errors import Unauthenticated

API_TOKEN_PREFIX = "vpr_"  # noqa: S105 - a prefix, not a secret
ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 50_000


def new_id() -> str:
    return uuid.uuid4().hex


class Passwords:
    """argon2id hashing, run off the event loop (it is deliberately slow)."""

    def __init__(self, *, time_cost: int = 2, memory_kib: int = 19 * 1024) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy: str | None = None

    async def dummy_hash(self) -> str:
        """A real hash with this hasher's parameters, of a secret nobody knows (made once)."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(32))
        return self._dummy

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, hashed: str, password: str) -> bool:
        def check() -> bool:
            try:
                return bool(self._hasher.verify(hashed, password))
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    user_id: str
    jti: str
    family: str
    expires_at: float


class Tokens:
    """HS256 JWTs: short access tokens, rotating refresh tokens."""

    def __init__(self, secret: str, *, access_ttl_s: int, refresh_ttl_s: int) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.access_ttl_s = access_ttl_s
        self._verified: dict[str, tuple[str, float]] = {}
        self.refresh_ttl_s = refresh_ttl_s

    def access(self, user_id: str) -> str:
        now = int(time.time())
        claims = {"sub": user_id, "iat": now, "exp": now + self.access_ttl_s, "typ": "access"}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def refresh(self, user_id: str, family: str) -> tuple[str, RefreshClaims]:
        now = int(time.time())
        jti = new_id()
        exp = now + self.refresh_ttl_s
        claims = {"sub": user_id, "iat": now, "exp": exp, "typ": "refresh", "jti": jti, "fam": family}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), RefreshClaims(user_id, jti, family, exp)

    def _decode(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(f"the {typ} token has expired") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the {typ} token is not valid: {exc}") from None
        if claims.get("typ") != typ:
            raise Unauthenticated(f"expected a {typ} token, got a {claims.get('typ')!s} token")
        return claims

    def verify_access(self, token: str) -> str:
        """The user id of a valid access token.

        A token's signature is checked once; later requests with the same token only check
        its expiry against the remembered claims (HS256 tokens are immutable strings).
        """
        now = time.time()
        known = self._verified.get(token)
        if known is not None and known[1] > now:
            return known[0]
        claims = self._decode(token, "access")
        user_id = str(claims["sub"])
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (user_id, float(claims["exp"]))
        return user_id

    def verify_refresh(self, token: str) -> RefreshClaims:
        c = self._decode(token, "refresh")
        if "jti" not in c or "fam" not in c:
            raise Unauthenticated("the refresh token is not valid: missing jti or family")
        return RefreshClaims(str(c["sub"]), str(c["jti"]), str(c["fam"]), float(c["exp"]))


def new_api_token() -> tuple[str, str, str]:
    """(token id, the token to show once, the hash to store)."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = f"{API_TOKEN_PREFIX}{token_id}_{secret}"
    return token_id, token, hash_secret(secret)


def parse_api_token(token: str) -> tuple[str, str]:
    body = token.removeprefix(API_TOKEN_PREFIX)
    token_id, sep, secret = body.partition("_")
    if not sep or not token_id or not secret:
        raise Unauthenticated("the API token is malformed")
    return token_id, secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
