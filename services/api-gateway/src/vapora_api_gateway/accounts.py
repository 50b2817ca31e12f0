"""People, workspaces, memberships and credentials: who the caller is and what role they hold."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from vapora_api_gateway.clock import iso
from vapora_api_gateway.login_throttle import LoginThrottle
from vapora_api_gateway.models import EMAIL
from vapora_api_gateway.policy import ROLES
from vapora_api_gateway.repository import Repository, Row
from vapora_api_gateway.security import (
    API_TOKEN_PREFIX,
    Passwords,
    Tokens,
    new_api_token,
    new_id,
    parse_api_token,
    secret_matches,
)
from vapora_core.aio import KeyedLocks
from vapora_core.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)

ROLE_CACHE_TTL_S = 2.0


@dataclass(slots=True)
class Principal:
    """The authenticated caller and the role they hold in each workspace they may touch."""

    user_id: str
    roles: dict[str, str] = field(default_factory=dict)
    api_token_id: str = ""

    def role_in(self, workspace_id: str) -> str | None:
        return self.roles.get(workspace_id)

    @property
    def workspace_ids(self) -> list[str]:
        return list(self.roles)

    @property
    def label(self) -> str:
        return f"api-token:{self.api_token_id}" if self.api_token_id else f"user:{self.user_id}"


def _rank(role: str) -> int:
    return len(ROLES) - ROLES.index(role)


class Accounts:
    def __init__(self, repo: Repository, passwords: Passwords, tokens: Tokens, throttle: LoginThrottle) -> None:
        self.repo = repo
        self.passwords = passwords
        self.tokens = tokens
        self.throttle = throttle
        self._roles: dict[str, tuple[float, dict[str, str]]] = {}
        self._api_tokens: dict[str, tuple[float, Row | None]] = {}
        self._refreshing = KeyedLocks()

    # -- credentials -------------------------------------------------------------------

    def _issue(self, user_id: str, family: str | None = None) -> tuple[dict[str, Any], Any]:
        refresh, claims = self.tokens.refresh(user_id, family or new_id())
        body = {
            "access_token": self.tokens.access(user_id),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.tokens.access_ttl_s,
            "refresh_expires_in": self.tokens.refresh_ttl_s,
        }
        return body, claims

    async def _tokens_for(self, user_id: str, family: str | None = None) -> dict[str, Any]:
        body, claims = self._issue(user_id, family)
        await self.repo.add_refresh(claims.jti, user_id, claims.family, claims.expires_at)
        return body

    async def register(self, email: str, password: str, display_name: str = "") -> dict[str, Any]:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise InvalidArgument(f"email {email!r} is not an email address")
        if len(password) < 8:
            raise InvalidArgument("password must be at least 8 characters")
        if await self.repo.user_by_email(email) is not None:
            raise AlreadyExists(f"a user with email {email!r} already exists")
        at = iso()
        user = {
            "id": new_id(),
            "email": email,
            "display_name": display_name or email.split("@")[0],
            "password_hash": await self.passwords.hash(password),
            "created_at": at,
        }
        await self.repo.create_user(user)
        ws = await self.create_workspace(user["id"], f"{user['display_name']}'s workspace")
        tokens = await self._tokens_for(user["id"])
        return {"user": self.public_user(user), "workspace": ws, **tokens}

    async def login(self, email: str, password: str, address: str) -> dict[str, Any]:
        """Check the password (throttled per account and per client ``address``, :mod:`login_throttle`)."""
        email = email.strip().lower()
        attempt = await self.throttle.begin(email, address)
        ok: bool | None = None
        try:
            user = await self.repo.user_by_email(email)
            # An unknown email is verified against a real hash with the same parameters, so it costs
            # the same argon2 time and the answer's timing does not tell which emails exist.
            hashed = str(user["password_hash"]) if user else await self.passwords.dummy_hash()
            ok = await self.passwords.verify(hashed, password) and user is not None
        finally:
            await attempt.end(ok)
        if user is None or not ok:
            raise Unauthenticated("email or password is wrong")
        tokens = await self._tokens_for(str(user["id"]))
        return {"user": self.public_user(user), **tokens}

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Rotate a refresh token: one use wins; any other use of it is reuse and revokes its family.

        Marking the token used is one conditional UPDATE. SurrealDB's embedded engine can still let
        two concurrent updates of one record both see it unused (a lost update; the refresh-race test
        shows it), so uses of one token are also taken one at a time here, and the winner's new token
        is stored before the next use is looked at: a reuse then revokes that new token too.
        """
        claims = self.tokens.verify_refresh(refresh_token)
        async with self._refreshing.hold(claims.jti):
            before = await self.repo.use_refresh(claims.jti)
            if before is None:
                if await self.repo.refresh_token(claims.jti) is None:
                    raise Unauthenticated("the refresh token is not known")
                await self.repo.revoke_family(claims.family)
                raise Unauthenticated(
                    "the refresh token was already used; every token of its session is now revoked, log in again"
                )
            if before.get("revoked") or await self.repo.family_revoked(claims.family):
                raise Unauthenticated("the refresh token has been revoked; log in again")
            return await self._tokens_for(claims.user_id, claims.family)

    async def authenticate(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send 'Authorization: Bearer <access token or API token>'")
        token = token.strip()
        if token.startswith(API_TOKEN_PREFIX):
            return await self._from_api_token(token)
        user_id = self.tokens.verify_access(token)
        return Principal(user_id, await self.roles(user_id))

    async def _from_api_token(self, token: str) -> Principal:
        token_id, secret = parse_api_token(token)
        now = time.monotonic()
        cached = self._api_tokens.get(token_id)
        if cached is None or cached[0] < now:
            row = await self.repo.api_token(token_id)
            self._api_tokens[token_id] = (now + ROLE_CACHE_TTL_S, row)
        else:
            row = cached[1]
        if row is None or not secret_matches(secret, str(row["secret_hash"])):
            raise Unauthenticated("the API token is not valid")
        if row.get("revoked_at"):
            raise Unauthenticated("the API token has been revoked")
        user_id, ws = str(row["user_id"]), str(row["workspace_id"])
        user_role = (await self.roles(user_id)).get(ws)
        if user_role is None:
            raise Unauthenticated("the API token's owner is no longer a member of its workspace")
        token_role = str(row["role"])
        role = token_role if _rank(token_role) <= _rank(user_role) else user_role
        return Principal(user_id, {ws: role}, api_token_id=token_id)

    async def roles(self, user_id: str) -> dict[str, str]:
        now = time.monotonic()
        cached = self._roles.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        roles = await self.repo.roles_of(user_id)
        self._roles[user_id] = (now + ROLE_CACHE_TTL_S, roles)
        return roles

    def forget(self, user_id: str) -> None:
        self._roles.pop(user_id, None)

    @staticmethod
    def public_user(user: Row) -> dict[str, Any]:
        return {"id": user["id"], "email": user["email"], "display_name": user.get("display_name") or ""}

    # -- workspaces --------------------------------------------------------------------

    async def create_workspace(self, user_id: str, name: str) -> dict[str, Any]:
        if not name.strip():
            raise InvalidArgument("workspace name must not be empty")
        at = iso()
        ws = {"id": new_id(), "name": name.strip(), "created_at": at, "created_by": user_id}
        await self.repo.create_workspace(ws, user_id, at)
        self.forget(user_id)
        return ws

    async def workspaces(self, principal: Principal) -> list[dict[str, Any]]:
        rows = await self.repo.workspaces(principal.workspace_ids)
        return [{**r, "role": principal.roles.get(str(r["id"]), "")} for r in rows]

    async def members(self, workspace_id: str) -> list[dict[str, Any]]:
        rows = await self.repo.members(workspace_id)
        return [
            {
                "user_id": r["user_id"],
                "email": (r.get("user") or {}).get("email") or "",
                "display_name": (r.get("user") or {}).get("display_name") or "",
                "role": r["role"],
                "added_at": r.get("added_at") or "",
            }
            for r in rows
        ]

    async def add_member(self, actor: Principal, workspace_id: str, email: str, role: str) -> dict[str, Any]:
        self._check_grant(actor, workspace_id, role)
        user = await self.repo.user_by_email(email.strip().lower())
        if user is None:
            # 409, not 404: the workspace the path names exists; what fails is a precondition
            # of the request (its user has an account), as with a task type no agent takes.
            raise FailedPrecondition(f"no user with email {email!r}; they must register first")
        if await self.repo.member(workspace_id, str(user["id"])) is not None:
            raise AlreadyExists(f"{email} is already a member of this workspace")
        await self.repo.put_member(workspace_id, str(user["id"]), role, iso())
        self.forget(str(user["id"]))
        return {
            "user_id": user["id"],
            "email": user["email"],
            "display_name": user.get("display_name") or "",
            "role": role,
        }

    async def set_role(self, actor: Principal, workspace_id: str, user_id: str, role: str) -> dict[str, Any]:
        current = await self.repo.member(workspace_id, user_id)
        if current is None:
            raise NotFound(f"user {user_id} is not a member of this workspace")
        self._check_grant(actor, workspace_id, role)
        self._check_grant(actor, workspace_id, str(current["role"]))
        if current["role"] == "owner" and role != "owner" and await self.repo.count_owners(workspace_id) <= 1:
            raise FailedPrecondition("a workspace keeps at least one owner")
        await self.repo.put_member(workspace_id, user_id, role, iso())
        self.forget(user_id)
        return {"user_id": user_id, "role": role}

    async def remove_member(self, actor: Principal, workspace_id: str, user_id: str) -> None:
        current = await self.repo.member(workspace_id, user_id)
        if current is None:
            raise NotFound(f"user {user_id} is not a member of this workspace")
        self._check_grant(actor, workspace_id, str(current["role"]))
        if current["role"] == "owner" and await self.repo.count_owners(workspace_id) <= 1:
            raise FailedPrecondition("a workspace keeps at least one owner")
        await self.repo.remove_member(workspace_id, user_id)
        self.forget(user_id)

    @staticmethod
    def _check_grant(actor: Principal, workspace_id: str, role: str) -> None:
        from vapora_core.errors import PermissionDenied

        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        mine = actor.role_in(workspace_id) or "viewer"
        if _rank(role) > _rank(mine):
            raise PermissionDenied(f"a {mine} cannot grant or change the role {role}")

    # -- API tokens --------------------------------------------------------------------

    async def create_api_token(self, actor: Principal, workspace_id: str, name: str, role: str) -> dict[str, Any]:
        self._check_grant(actor, workspace_id, role)
        if not name.strip():
            raise InvalidArgument("token name must not be empty")
        token_id, token, secret_hash = new_api_token()
        row = {
            "id": token_id,
            "workspace_id": workspace_id,
            "user_id": actor.user_id,
            "name": name.strip(),
            "role": role,
            "secret_hash": secret_hash,
            "created_at": iso(),
            "revoked_at": None,
        }
        await self.repo.add_api_token(row)
        public = {k: v for k, v in row.items() if k != "secret_hash"}
        return {**public, "token": token}

    async def revoke_api_token(self, workspace_id: str, token_id: str) -> dict[str, Any]:
        row = await self.repo.revoke_api_token(workspace_id, token_id, iso())
        if row is None:
            raise NotFound(f"no API token {token_id} in this workspace")
        self._api_tokens.pop(token_id, None)
        return {k: v for k, v in row.items() if k != "secret_hash"}
