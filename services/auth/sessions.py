"""Use cases of logging in and staying logged in: the password check, sessions, refresh, logout
(the login route itself goes through services.auth.two_factor.TwoFactor.login, which decides
whether a second factor is needed).

A session is a refresh token family. Each refresh consumes the presented token and returns a new
one; a consumed token presented again means it was copied, and the whole family is revoked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from services.auth import audit, repository
from shared.clock import Clock
from services.auth.domain import ClientInfo, Session, User, is_valid_email, normalize_email
from services.auth.errors import InvalidCredentials, InvalidRefreshToken, TooManyAttempts
from services.auth.hashing import PasswordHashing
from services.auth.repository import Connection
from services.auth.throttling import LoginThrottle
from services.auth.tokens import AccessTokens, new_refresh_token, refresh_token_digest
from shared.logging import get_logger

log = get_logger(__name__)

PASSWORD_AMR = ("pwd",)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


class Sessions:
    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        clock: Clock,
        hashing: PasswordHashing,
        throttle: LoginThrottle,
        tokens: AccessTokens,
        *,
        refresh_idle: timedelta,
        session_max: timedelta,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._hashing = hashing
        self._throttle = throttle
        self._tokens = tokens
        self._refresh_idle = refresh_idle
        self._session_max = session_max

    async def check_password(self, email: str, password: str, client: ClientInfo) -> User:
        """The user whose password this is; throttled, audited, InvalidCredentials otherwise."""
        account = normalize_email(email)
        now = self._clock.now()
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                admission = await self._throttle.admit(conn, account, client.address, now)
                user = await repository.find_user_by_email(conn, account)
                if not admission.allowed and admission.newly_blocked_scopes:
                    await audit.record(
                        conn,
                        "login_throttled",
                        now,
                        user=user,
                        email=_auditable(account),
                        client=client,
                        scopes=",".join(admission.newly_blocked_scopes),
                        retry_after_seconds=round(admission.retry_after.total_seconds()),
                    )
            if not admission.allowed:
                log.info("login_refused_throttled", client_address=client.address)
                raise TooManyAttempts(admission.retry_after.total_seconds())
        verification = await self._hashing.verify(user.password_hash if user else None, password)
        if user is None or not verification.ok or not user.active:
            reason = "unknown_account" if user is None else "wrong_password"
            if user is not None and verification.ok:
                reason = "inactive_account"
            async with self._pool.acquire() as conn:
                await audit.record(
                    conn,
                    "login_failed",
                    self._clock.now(),
                    user=user,
                    email=_auditable(account),
                    client=client,
                    reason=reason,
                )
            raise InvalidCredentials()
        new_hash = await self._hashing.hash(password) if verification.needs_rehash else None
        async with self._pool.acquire() as conn, conn.transaction():
            await self._throttle.succeeded(conn, account, client.address, self._clock.now())
            if new_hash is not None:
                await repository.replace_password_hash(conn, user.id, user.password_hash, new_hash)
                log.info("password_rehashed", user_id=str(user.id))
        return user

    async def start_session(
        self, user: User, amr: tuple[str, ...], client: ClientInfo
    ) -> TokenPair:
        """A new refresh token family for an authenticated user, and its first tokens."""
        now = self._clock.now()
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
        async with self._pool.acquire() as conn, conn.transaction():
            await repository.insert_session(conn, session, client.address, client.user_agent)
            await repository.insert_refresh_token(
                conn, digest, session.id, now, min(now + self._refresh_idle, session.expires_at)
            )
            await repository.record_login(conn, user.id, now)
            await audit.record(
                conn,
                "login_succeeded",
                now,
                user=user,
                client=client,
                session_id=str(session.id),
                amr=",".join(amr),
            )
        access = self._tokens.issue(user, session.id, amr)
        return TokenPair(access.token, refresh_token, access.expires_in)

    async def refresh(self, refresh_token: str, client: ClientInfo) -> TokenPair:
        """Exchange a refresh token for a new pair; the presented token is used up."""
        digest = refresh_token_digest(refresh_token)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                state = await repository.lock_refresh_token(conn, digest)
                if state is None or state.session.revoked_at is not None:
                    issued = None
                elif state.used_at is not None:
                    await self._revoke_reused_family(conn, state.session, client)
                    issued = None
                else:
                    issued = await self._rotate(conn, state, digest)
            if issued is None:
                raise InvalidRefreshToken()
        user, session_id, amr, new_token = issued
        access = self._tokens.issue(user, session_id, amr)
        return TokenPair(access.token, new_token, access.expires_in)

    async def logout(self, refresh_token: str, client: ClientInfo) -> None:
        """End the session of a refresh token; unknown or dead tokens are silently accepted."""
        digest = refresh_token_digest(refresh_token)
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            state = await repository.lock_refresh_token(conn, digest)
            if state is None or state.session.revoked_at is not None:
                return
            await repository.revoke_session(conn, state.session.id, "logout", now)
            user = await repository.get_user(conn, state.session.user_id)
            await audit.record(
                conn, "logout", now, user=user, client=client, session_id=str(state.session.id)
            )

    async def _rotate(
        self, conn: Connection, state: repository.RefreshTokenState, digest: bytes
    ) -> tuple[User, uuid.UUID, tuple[str, ...], str] | None:
        now = self._clock.now()
        session = state.session
        if state.token_expires_at <= now or session.expires_at <= now:
            return None
        user = await repository.get_user(conn, session.user_id)
        if user is None or not user.active:
            return None
        await repository.mark_refresh_token_used(conn, digest, now)
        new_token, new_digest = new_refresh_token()
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
        user = await repository.get_user(conn, session.user_id)
        await audit.record(
            conn,
            "refresh_token_reused",
            now,
            user=user,
            user_id=session.user_id,
            client=client,
            session_id=str(session.id),
        )


def _auditable(account: str) -> str | None:
    """The e-mail typed at login, unless it does not look like one: people type passwords into
    the e-mail field, and those must not reach the audit trail."""
    return account if is_valid_email(account) else None
