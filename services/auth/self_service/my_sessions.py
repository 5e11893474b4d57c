"""My sessions: the caller's active sessions (device, rough address, second factor, which one is
this one), ending one of them, and ending every other one.

Ending a session revokes it and expires its refresh tokens in one transaction, with an audit
entry per session ended: its refresh token is refused at once. Its access token is not
revocable (a JWT that other services verify alone): the auth service's own routes refuse it at
once (they check the session), other services accept it until it expires, at most 15 minutes.
The device token of that device is left alone: it is not a credential, only the throttle's
memory of the device, and the owner may sign in there again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID

from services.auth.accounts.profile import require_live_user
from services.auth.domain import ClientInfo, Language, User
from services.auth.platform import audit
from services.auth.platform.sql import Connection
from services.auth.self_service import repository
from services.auth.self_service.errors import SessionNotFound
from services.auth.sessions.client_devices import Device, describe_device, truncate_address
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.tokens import Principal

# Authentication methods (RFC 8176) that are a second factor on top of the password.
SECOND_FACTOR_METHODS: Final = frozenset({"otp", "sms", "hwk", "swk", "mfa", "pop", "fpt", "face"})
MAX_LISTED_SESSIONS: Final = 200
"""A bound on the answer; only a script logging in over and over gets near it."""


@dataclass(frozen=True)
class ListedSession:
    id: UUID
    current: bool
    created_at: datetime
    last_used_at: datetime
    device: Device
    address: str | None
    second_factor: bool

    def as_dict(self, language: Language) -> dict[str, Any]:
        return {
            "id": self.id,
            "current": self.current,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "device": self.device.as_dict(language),
            "address": self.address,
            "second_factor": self.second_factor,
        }


@dataclass(frozen=True)
class SessionList:
    """The caller's active sessions, and the language to describe them in."""

    language: Language
    items: list[ListedSession]


def _listed(row: repository.SessionRow, current: UUID) -> ListedSession:
    return ListedSession(
        id=row.id,
        current=row.id == current,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        device=describe_device(row.user_agent),
        address=truncate_address(row.client_address),
        second_factor=not SECOND_FACTOR_METHODS.isdisjoint(row.amr),
    )


class MySessions:
    """`GET /v1/me/sessions`, `DELETE /v1/me/sessions/{id}` and
    `POST /v1/me/sessions/revoke-others`."""

    def __init__(self, uow: UnitOfWork, clock: Clock, *, refresh_idle: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._refresh_idle = refresh_idle

    async def active(self, principal: Principal) -> SessionList:
        """Active sessions, most recently used first; `current` marks the caller's."""
        now = self._clock.now()

        async def read(conn: Connection) -> SessionList:
            user = await require_live_user(conn, principal, self._clock)
            rows = await repository.active_sessions(
                conn, user.id, now, now - self._refresh_idle, MAX_LISTED_SESSIONS
            )
            return SessionList(user.language, [_listed(r, principal.session_id) for r in rows])

        return await self._uow.read(read)

    async def end(self, principal: Principal, session_id: UUID, client: ClientInfo) -> None:
        """End one active session of the caller (the current one too: that is a logout);
        SessionNotFound for anything else, and then nothing changes."""
        now = self._clock.now()

        async def end_one(conn: Connection) -> None:
            user = await require_live_user(conn, principal, self._clock)
            idle_since = now - self._refresh_idle
            if not await repository.end_session(conn, user.id, session_id, now, idle_since):
                raise SessionNotFound()
            await self._ended(
                conn, user, [session_id], principal=principal, client=client, now=now, scope="one"
            )

        await self._uow.run(end_one)

    async def end_others(self, principal: Principal, client: ClientInfo) -> int:
        """End every active session of the caller but the current one; returns how many."""
        now = self._clock.now()

        async def end_all_but_mine(conn: Connection) -> int:
            user = await require_live_user(conn, principal, self._clock, for_update=True)
            ended = await repository.end_other_sessions(
                conn, user.id, principal.session_id, now, now - self._refresh_idle
            )
            await self._ended(
                conn, user, ended, principal=principal, client=client, now=now, scope="others"
            )
            return len(ended)

        return await self._uow.run(end_all_but_mine)

    @staticmethod
    async def _ended(
        conn: Connection,
        user: User,
        session_ids: list[UUID],
        *,
        principal: Principal,
        client: ClientInfo,
        now: datetime,
        scope: str,
    ) -> None:
        """Expire the ended sessions' refresh tokens and audit each one: which session, ended
        from which one (the owner's, from the device and address of `client`)."""
        await repository.expire_refresh_tokens(conn, session_ids, now)
        for session_id in session_ids:
            await audit.record(
                conn,
                "session_ended",
                now,
                user=user,
                client=client,
                session_id=str(session_id),
                ended_from_session=str(principal.session_id),
                scope=scope,
            )
