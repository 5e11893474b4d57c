"""Turning two-factor authentication on (with a code of the app; every other session ends),
replacing the recovery codes and turning it off; the last two need a step-up: the password and a
second factor (a current code of the app or an unused recovery code)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar, cast

from services.auth.accounts.passwords import Passwords
from services.auth.accounts.profile import require_live_user
from services.auth.domain import ClientInfo, User
from services.auth.login.errors import TooManyAttempts
from services.auth.platform import audit, events
from services.auth.platform.sql import Connection
from services.auth.sessions import repository as sessions_repository
from services.auth.two_factor import recovery_codes, repository
from services.auth.two_factor.errors import (
    InvalidCode,
    SecondFactorRequired,
    TwoFactorNotEnabled,
    TwoFactorStateConflict,
)
from services.auth.two_factor.verifier import CodeCheck, CodeVerifier, audit_code_failure
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.events.user_events import (
    UserRecoveryCodesRegenerated,
    UserTwoFactorDisabled,
    UserTwoFactorEnabled,
)
from shared.tokens import Principal

T = TypeVar("T")


class TwoFactor:
    """`POST /v1/me/2fa/activate`, `POST /v1/me/2fa/recovery-codes` and `DELETE /v1/me/2fa`."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, *, verifier: CodeVerifier, passwords: Passwords
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._verifier = verifier
        self._passwords = passwords

    async def activate(self, principal: Principal, code: str, client: ClientInfo) -> list[str]:
        """A code from the app confirms the pending secret: 2FA is on; returns the recovery
        codes, shown this once."""
        now = self._clock.now()

        async def activate_if_right(conn: Connection) -> tuple[CodeCheck, list[str] | None]:
            user = await require_live_user(conn, principal, self._clock)
            row = await repository.lock_two_factor(conn, user.id, now)
            if row.secret_state != repository.PENDING:
                raise TwoFactorStateConflict(
                    "Two-factor authentication is already on."
                    if row.totp_enabled
                    else "Confirm your mobile number first."
                )
            check = await self._verifier.check(
                conn, row, code, now, recovery=False, activating=True
            )
            if not check.accepted:
                await audit_code_failure(conn, user, client, check, now)
                return check, None
            await repository.activate(conn, user.id, now)
            codes = recovery_codes.new_codes()
            await repository.replace_recovery_codes(
                conn, user.id, [recovery_codes.digest(c) for c in codes], now
            )
            # Sessions opened with the password alone must not outlive the second factor.
            ended = await sessions_repository.revoke_sessions_of_user(
                conn, user.id, "two_factor_enabled", now, keep=principal.session_id
            )
            await events.publish_user_event(conn, user, UserTwoFactorEnabled(), now)
            await audit.record(
                conn,
                "two_factor_enabled",
                now,
                user=user,
                client=client,
                other_sessions_revoked=ended,
            )
            return check, codes

        check, codes = await self._uow.run(activate_if_right)
        if check.throttled_for is not None:
            raise TooManyAttempts(check.throttled_for.total_seconds())
        if codes is None:
            raise InvalidCode()
        return codes

    async def regenerate_recovery_codes(
        self, principal: Principal, password: str, code: str | None, client: ClientInfo
    ) -> list[str]:
        """Ten new recovery codes (the old ones stop working); needs the password and a second
        factor (a current code of the app, or an unused recovery code, which it uses up)."""
        user = await self._step_up(principal, password, code, client)
        now = self._clock.now()

        async def replace_codes(conn: Connection) -> tuple[CodeCheck, list[str] | None]:
            check = await self._check_second_factor(conn, user, code, client, now)
            if not check.accepted:
                return check, None
            codes = recovery_codes.new_codes()
            await repository.replace_recovery_codes(
                conn, user.id, [recovery_codes.digest(c) for c in codes], now
            )
            await events.publish_user_event(conn, user, UserRecoveryCodesRegenerated(), now)
            await audit.record(
                conn,
                "recovery_codes_regenerated",
                now,
                user=user,
                client=client,
                method=check.method,
            )
            return check, codes

        check, codes = await self._uow.run(replace_codes)
        _raise_if_refused(check)
        if codes is None:  # pragma: no cover - an accepted check always has its codes
            raise InvalidCode()
        return codes

    async def deactivate(
        self, principal: Principal, password: str, code: str | None, client: ClientInfo
    ) -> None:
        """Back to password-only login: needs the password and a second factor; removes the
        secret, the confirmed number and the recovery codes, and ends every other session of
        the user."""
        user = await self._step_up(principal, password, code, client)
        now = self._clock.now()

        async def turn_off(conn: Connection) -> CodeCheck:
            check = await self._check_second_factor(conn, user, code, client, now)
            if not check.accepted:
                return check
            await repository.remove_two_factor(conn, user.id)
            ended = await sessions_repository.revoke_sessions_of_user(
                conn, user.id, "two_factor_disabled", now, keep=principal.session_id
            )
            await events.publish_user_event(conn, user, UserTwoFactorDisabled(), now)
            await audit.record(
                conn,
                "two_factor_disabled",
                now,
                user=user,
                client=client,
                method=check.method,
                other_sessions_revoked=ended,
            )
            return check

        _raise_if_refused(await self._uow.run(turn_off))

    async def with_step_up(
        self,
        principal: Principal,
        password: str,
        code: str | None,
        client: ClientInfo,
        change: Callable[[Connection, User, datetime], Awaitable[T]],
    ) -> T:
        """Run `change` in the transaction that accepts the step-up (password, then the code
        through the verifier): a change that raises takes the spent code back with it."""
        user = await self._step_up(principal, password, code, client)
        now = self._clock.now()

        async def checked(conn: Connection) -> tuple[CodeCheck, T | None]:
            check = await self._check_second_factor(conn, user, code, client, now)
            if not check.accepted:
                return check, None
            return check, await change(conn, user, now)

        check, result = await self._uow.run(checked)
        _raise_if_refused(check)
        return cast(T, result)

    async def _step_up(
        self, principal: Principal, password: str, code: str | None, client: ClientInfo
    ) -> User:
        """The live user, once 2FA is known to be on, a code was sent and the password is
        right (checked through the login throttle). The code itself is checked later, in the
        transaction of the change."""
        user, state = await self._uow.read(lambda conn: self._user_and_state(conn, principal))
        if state is None or not state.enabled:
            raise TwoFactorNotEnabled()
        if code is None:
            # A session that knows only the password must not undo the second factor.
            raise SecondFactorRequired()
        await self._passwords.confirm(user, password, client, "two_factor_password_refused")
        return user

    async def _check_second_factor(
        self, conn: Connection, user: User, code: str | None, client: ClientInfo, now: datetime
    ) -> CodeCheck:
        """The step-up code through the one verifier (replay guard, per-user failure cap, a
        recovery code used up), with the user's row locked; a refusal is audited and counted,
        and the caller commits it."""
        row = await repository.lock_two_factor(conn, user.id, now)
        if not row.enabled:
            raise TwoFactorNotEnabled()
        check = await self._verifier.check(conn, row, code or "", now, recovery=True)
        if not check.accepted:
            await audit_code_failure(conn, user, client, check, now)
        return check

    async def _user_and_state(
        self, conn: Connection, principal: Principal
    ) -> tuple[User, repository.TwoFactorRow | None]:
        user = await require_live_user(conn, principal, self._clock)
        return user, await repository.get_two_factor(conn, user.id)


def _raise_if_refused(check: CodeCheck) -> None:
    if check.throttled_for is not None:
        raise TooManyAttempts(check.throttled_for.total_seconds())
    if not check.accepted:
        raise InvalidCode()
