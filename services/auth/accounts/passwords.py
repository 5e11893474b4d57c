"""Use cases about one's own password: changing it, and measuring a candidate while typing."""

from __future__ import annotations

import asyncio

from services.auth.accounts import repository
from services.auth.accounts.errors import PasswordRejected, WrongCurrentPassword
from services.auth.accounts.hashing import PasswordHashing
from services.auth.accounts.password_policy import (
    PasswordContext,
    PasswordPolicy,
    Quality,
    as_field_errors,
)
from services.auth.accounts.profile import require_live_user
from services.auth.domain import ClientInfo, Language, User
from services.auth.login.errors import TooManyAttempts
from services.auth.login.throttling import Admission, LoginThrottle
from services.auth.platform import audit, events
from services.auth.platform.audit import AuditEvent
from services.auth.platform.sql import Connection
from services.auth.sessions import repository as sessions_repository
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.tokens import Principal


class Passwords:
    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        hashing: PasswordHashing,
        policy: PasswordPolicy,
        throttle: LoginThrottle,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hashing = hashing
        self._policy = policy
        self._throttle = throttle

    async def change(
        self,
        principal: Principal,
        current_password: str,
        new_password: str,
        confirmation: str,
        client: ClientInfo,
    ) -> None:
        """Replace the caller's password and end every other session of theirs. The rules are
        checked first (all broken ones reported), then the current password, which counts
        toward the login throttle like a login attempt."""
        user = await self._uow.read(lambda conn: require_live_user(conn, principal, self._clock))
        context = PasswordContext(user.email, user.organization_name)
        broken = self._policy.broken_rules(
            new_password,
            context,
            language=user.language,
            confirmation=confirmation,
            field="new_password",
            confirmation_field="new_password_confirmation",
        )
        if broken:
            raise PasswordRejected(as_field_errors(broken), [b.rule for b in broken])
        await self._check_current(user.email, user.password_hash, current_password, client)
        new_hash = await self._hashing.hash(new_password)
        score = await asyncio.to_thread(self._policy.score, new_password, context)
        now = self._clock.now()

        async def replace(conn: Connection) -> None:
            locked = await require_live_user(conn, principal, self._clock, for_update=True)
            if locked.password_hash != user.password_hash:
                # Changed by a parallel request since the current password was checked.
                raise WrongCurrentPassword()
            await repository.set_password(conn, user.id, new_hash, score, now)
            ended = await sessions_repository.revoke_sessions_of_user(
                conn, user.id, "password_changed", now, keep=principal.session_id
            )
            await events.publish_user_event(conn, user, events.password_changed(), now)
            await audit.record(
                conn,
                "password_changed",
                now,
                user=user,
                client=client,
                other_sessions_revoked=ended,
                score=score,
            )

        await self._uow.run(replace)

    async def quality(
        self, password: str, language: Language, principal: Principal | None
    ) -> Quality:
        """The meter's reading; for a logged-in caller, their e-mail and organisation name
        count as easy to guess."""
        context = None
        if principal is not None:
            user = await self._uow.read(lambda conn: repository.get_user(conn, principal.user_id))
            if user is not None:
                context = PasswordContext(user.email, user.organization_name)
        # zxcvbn is pure Python and takes up to tens of milliseconds: keep it off the loop.
        return await asyncio.to_thread(self._policy.quality, password, language, context)

    async def confirm(
        self, user: User, password: str, client: ClientInfo, refused_event: AuditEvent
    ) -> None:
        """Re-authentication for a sensitive change: the user's password, throttled like a
        login; WrongCurrentPassword (401) otherwise."""
        await self._check_current(
            user.email, user.password_hash, password, client, refused_event=refused_event
        )

    async def _check_current(
        self,
        email: str,
        password_hash: str,
        password: str,
        client: ClientInfo,
        *,
        refused_event: AuditEvent = "password_change_refused",
    ) -> None:
        now = self._clock.now()
        admission: Admission = await self._uow.run(
            lambda conn: self._throttle.admit(conn, email, client.address, now)
        )
        if not admission.allowed:
            raise TooManyAttempts(admission.retry_after.total_seconds())
        verification = await self._hashing.verify(password_hash, password)

        async def record(conn: Connection) -> None:
            if verification.ok:
                await self._throttle.succeeded(conn, email, client.address, self._clock.now())
                return
            user = await repository.find_user_by_email(conn, email)
            await audit.record(
                conn,
                refused_event,
                self._clock.now(),
                user=user,
                client=client,
                reason="wrong_current_password",
            )

        await self._uow.run(record)
        if not verification.ok:
            raise WrongCurrentPassword()
