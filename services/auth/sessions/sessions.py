"""Use cases of staying logged in: starting a session, refresh, logout.

A session is a refresh token family. Each refresh consumes the presented token and returns a new
one; a consumed token presented again means it was copied, and the whole family is revoked —
unless it comes back within the reuse interval (a duplicated tab, a retry after a lost answer):
then it gets the same successor again, with a fresh access token. The successor is derived from
the presented token with a keyed HMAC, so it can be answered again without being stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.auth.accounts import repository as accounts_repository
from services.auth.domain import ClientInfo, Session, User
from services.auth.platform import audit
from services.auth.platform.sql import Connection
from services.auth.sessions import repository
from services.auth.sessions.errors import InvalidRefreshToken
from services.auth.sessions.tokens import (
    AccessTokens,
    new_refresh_token,
    refresh_token_digest,
    successor_refresh_token,
)
from shared.clock import Clock
from shared.db import UnitOfWork


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    device_token: str | None = None
    """Only in the answer of a login."""

    def as_dict(self) -> dict[str, Any]:
        pair: dict[str, Any] = {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.device_token is not None:
            pair["device_token"] = self.device_token
        return pair


@dataclass(frozen=True)
class StartedSession:
    """A session stored in the caller's transaction; its access token is signed after commit."""

    user: User
    session_id: uuid.UUID
    amr: tuple[str, ...]
    refresh_token: str


_Rotated = tuple[User, uuid.UUID, tuple[str, ...], str]

SUCCESSOR_PURPOSE = "refresh-token-successor"
"""The HKDF purpose of the key that derives a refresh token's successor."""


class Sessions:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        tokens: AccessTokens,
        *,
        refresh_idle: timedelta,
        session_max: timedelta,
        reuse_interval: timedelta,
        successor_key: bytes,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._tokens = tokens
        self._refresh_idle = refresh_idle
        self._session_max = session_max
        self._reuse_interval = reuse_interval
        self._successor_key = successor_key

    async def start(
        self, conn: Connection, user: User, amr: tuple[str, ...], client: ClientInfo, now: datetime
    ) -> StartedSession:
        """A new refresh token family for an authenticated user, in the caller's transaction
        (the login's), with its audit entry."""
        session = Session(
            id=uuid.uuid4(),
            user_id=user.id,
            amr=amr,
            created_at=now,
            last_used_at=now,
            expires_at=now + self._session_max,
            revoked_at=None,
        )
        refresh_token, digest = new_refresh_token()
        await repository.insert_session(conn, session, client.address, client.user_agent)
        await repository.insert_refresh_token(
            conn, digest, session.id, now, min(now + self._refresh_idle, session.expires_at)
        )
        await accounts_repository.record_login(conn, user.id, now)
        await audit.record(
            conn,
            "login_succeeded",
            now,
            user=user,
            client=client,
            session_id=str(session.id),
            amr=",".join(amr),
        )
        return StartedSession(user, session.id, amr, refresh_token)

    def token_pair(self, started: StartedSession) -> TokenPair:
        """The first tokens of a session once its transaction committed."""
        access = self._tokens.issue(started.user, started.session_id, started.amr)
        return TokenPair(access.token, started.refresh_token, access.expires_in)

    async def refresh(self, refresh_token: str, client: ClientInfo) -> TokenPair:
        """Exchange a refresh token for a new pair; the presented token is used up. Presented
        again within the reuse interval it yields the same successor; later, it revokes the
        session."""
        digest = refresh_token_digest(refresh_token)

        async def rotate_or_revoke(conn: Connection) -> _Rotated | None:
            state = await repository.lock_refresh_token(conn, digest)
            if state is None or state.session.revoked_at is not None:
                return None
            if state.used_at is None:
                return await self._rotate(conn, state, digest, refresh_token)
            if self._clock.now() - state.used_at <= self._reuse_interval:
                again = await self._successor_again(conn, state, refresh_token)
                if again is not None:
                    return again
            await self._revoke_reused_family(conn, state.session, client)
            return None

        issued = await self._uow.run(rotate_or_revoke)
        if issued is None:
            raise InvalidRefreshToken()
        user, session_id, amr, new_token = issued
        access = self._tokens.issue(user, session_id, amr)
        return TokenPair(access.token, new_token, access.expires_in)

    async def logout(self, refresh_token: str, client: ClientInfo) -> None:
        """End the session of a refresh token; unknown or dead tokens are silently accepted."""
        digest = refresh_token_digest(refresh_token)
        now = self._clock.now()

        async def end_session(conn: Connection) -> None:
            state = await repository.lock_refresh_token(conn, digest)
            if state is None or state.session.revoked_at is not None:
                return
            await repository.revoke_session(conn, state.session.id, "logout", now)
            user = await accounts_repository.get_user(conn, state.session.user_id)
            await audit.record(
                conn, "logout", now, user=user, client=client, session_id=str(state.session.id)
            )

        await self._uow.run(end_session)

    async def _successor_again(
        self, conn: Connection, state: repository.RefreshTokenState, refresh_token: str
    ) -> _Rotated | None:
        """The successor already issued for this token (None when there is none, e.g. a token
        rotated before successors were derived), for a live session of an active user."""
        session = state.session
        if session.expires_at <= self._clock.now():
            return None
        successor, successor_digest = successor_refresh_token(self._successor_key, refresh_token)
        if not await repository.refresh_token_exists(conn, successor_digest, session.id):
            return None
        user = await accounts_repository.get_user(conn, session.user_id)
        if user is None or not user.active:
            return None
        return user, session.id, session.amr, successor

    async def _rotate(
        self,
        conn: Connection,
        state: repository.RefreshTokenState,
        digest: bytes,
        refresh_token: str,
    ) -> _Rotated | None:
        now = self._clock.now()
        session = state.session
        if state.token_expires_at <= now or session.expires_at <= now:
            return None
        user = await accounts_repository.get_user(conn, session.user_id)
        if user is None or not user.active:
            return None
        await repository.mark_refresh_token_used(conn, digest, now)
        new_token, new_digest = successor_refresh_token(self._successor_key, refresh_token)
        await repository.insert_refresh_token(
            conn, new_digest, session.id, now, min(now + self._refresh_idle, session.expires_at)
        )
        await repository.touch_session(conn, session.id, now)
        return user, session.id, session.amr, new_token

    async def _revoke_reused_family(
        self, conn: Connection, session: Session, client: ClientInfo
    ) -> None:
        now = self._clock.now()
        await repository.revoke_session(conn, session.id, "refresh_token_reused", now)
        user = await accounts_repository.get_user(conn, session.user_id)
        await audit.record(
            conn,
            "refresh_token_reused",
            now,
            user=user,
            user_id=session.user_id,
            client=client,
            session_id=str(session.id),
        )
