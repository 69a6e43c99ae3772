"""Reading a private index: who may read what, with verified credentials cached briefly.

Credentials are HTTP Basic with a read-scoped API token (``__token__`` / ``bastion-…``,
as pip, uv, poetry and pdm send from the URL, a keyring or ``.netrc``) or a signed-in
browser session. Verifying one costs database reads, so a verified credential is kept
in a per-process table for ``read_token_cache_seconds``: a warm request is one dict
lookup. Revoking a token drops it from this process's table at once
(:meth:`ReadAccess.drop_token`); other processes stop honouring it within the TTL.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bastion.accounts.auth import TOKEN_USERNAME, AuthenticationRequired, parse_basic
from bastion.accounts.models import User
from bastion.accounts.session_models import WebSession
from bastion.accounts.sessions import SessionState, hash_session_id, is_expired
from bastion.accounts.tokens import verify_read_token
from bastion.clock import Clock
from bastion.config import Settings
from bastion.db.engine import Database
from bastion.errors import Forbidden

MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class ReadGrant:
    """What one credential may read: every project, or names matching ``projects``."""

    user_id: int
    token_id: int | None  # None: a browser session
    projects: tuple[str, ...] | None

    @property
    def unlimited(self) -> bool:
        return self.projects is None

    def allows(self, name: str) -> bool:
        return self.projects is None or any(fnmatchcase(name, p) for p in self.projects)

    def check(self, name: str) -> None:
        if not self.allows(name):
            raise Forbidden(
                f"This token may read only {', '.join(self.projects or ())}, not {name!r}."
            )

    def check_unlimited(self, what: str) -> None:
        if not self.unlimited:
            raise Forbidden(f"A token limited to some projects cannot read {what}.")


class ReadAccess:
    """The per-process table of verified read credentials."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.db, self.clock, self.monotonic = settings, db, clock, monotonic
        self.ttl = settings.read_token_cache_seconds
        self._grants: dict[bytes, tuple[ReadGrant, float]] = {}

    def _cached(self, key: bytes) -> ReadGrant | None:
        hit = self._grants.get(key)
        if hit is not None and hit[1] > self.monotonic():
            return hit[0]
        return None

    def _keep(self, key: bytes, grant: ReadGrant) -> ReadGrant:
        if len(self._grants) >= MAX_ENTRIES:
            self._grants.clear()
        self._grants[key] = (grant, self.monotonic() + self.ttl)
        return grant

    def drop_token(self, token_id: int) -> None:
        """Forget a revoked token at once."""
        for key in [k for k, (g, _) in self._grants.items() if g.token_id == token_id]:
            del self._grants[key]

    def drop_user(self, user_id: int) -> None:
        for key in [k for k, (g, _) in self._grants.items() if g.user_id == user_id]:
            del self._grants[key]

    async def grant(self, authorization: str | None, session_cookie: str | None) -> ReadGrant:
        """The grant for these credentials; 401 asks for them, 403 refuses bad ones."""
        if authorization:
            key = b"a" + hashlib.sha256(authorization.encode("latin-1")).digest()
            return self._cached(key) or self._keep(key, await self._token(authorization))
        if session_cookie and len(session_cookie) <= 128:
            key = b"s" + hashlib.sha256(session_cookie.encode("latin-1")).digest()
            cached = self._cached(key)
            if cached is not None:
                return cached
            grant = await self._session(session_cookie)
            if grant is not None:
                return self._keep(key, grant)
        raise AuthenticationRequired(
            "This index is private: sign in, or send a read token (user __token__, "
            "password bastion-…) in the index URL or your .netrc."
        )

    async def _token(self, authorization: str) -> ReadGrant:
        creds = parse_basic(authorization)
        if creds.username != TOKEN_USERNAME:
            raise AuthenticationRequired(
                "This private index takes API tokens: user __token__, password a read token."
            )
        async with self.db.session() as session:
            token, user = await verify_read_token(session, self.clock, creds.password)
        projects = tuple(token.read_projects) if token.read_projects else None
        return ReadGrant(user_id=user.id, token_id=token.id, projects=projects)

    async def _session(self, raw_id: str) -> ReadGrant | None:
        async with self.db.session() as session:
            row = await session.get(WebSession, hash_session_id(raw_id))
            if (
                row is None
                or row.user_id is None
                or row.state != SessionState.FULL.value
                or is_expired(row, self.settings, self.clock.now())
            ):
                return None
            user = await session.get(User, row.user_id)
            if user is None or not user.is_active:
                return None
        return ReadGrant(user_id=user.id, token_id=None, projects=None)
