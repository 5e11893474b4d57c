"""Turning two-factor authentication on (with a code of the app), replacing the recovery codes
and turning it off; the last two need the password again."""

from __future__ import annotations

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
    TwoFactorNotEnabled,
    TwoFactorStateConflict,
)
from services.auth.two_factor.verifier import CodeCheck, CodeVerifier, audit_code_failure
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.events.user_events import UserTwoFactorDisabled, UserTwoFactorEnabled
from shared.tokens import Principal


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
                    if row.enabled
                    else "Confirm your mobile number first."
                )
            check = await self._verifier.check(conn, row, code, now, recovery=False)
            if not check.accepted:
                await audit_code_failure(conn, user, client, check, now)
                return check, None
            await repository.activate(conn, user.id, now)
            codes = recovery_codes.new_codes()
            await repository.replace_recovery_codes(
                conn, user.id, [recovery_codes.digest(c) for c in codes], now
            )
            await events.publish_user_event(conn, user, UserTwoFactorEnabled(), now)
            await audit.record(conn, "two_factor_enabled", now, user=user, client=client)
            return check, codes

        check, codes = await self._uow.run(activate_if_right)
        if check.throttled_for is not None:
            raise TooManyAttempts(check.throttled_for.total_seconds())
        if codes is None:
            raise InvalidCode()
        return codes

    async def regenerate_recovery_codes(
        self, principal: Principal, password: str, client: ClientInfo
    ) -> list[str]:
        """Ten new recovery codes (the old ones stop working); needs the password."""
        user = await self._uow.read(lambda conn: require_live_user(conn, principal, self._clock))
        await self._passwords.confirm(user, password, client, "two_factor_password_refused")
        now = self._clock.now()

        async def replace_codes(conn: Connection) -> list[str]:
            row = await repository.lock_two_factor(conn, user.id, now)
            if not row.enabled:
                raise TwoFactorStateConflict("Two-factor authentication is not on.")
            codes = recovery_codes.new_codes()
            await repository.replace_recovery_codes(
                conn, user.id, [recovery_codes.digest(c) for c in codes], now
            )
            await audit.record(conn, "recovery_codes_regenerated", now, user=user, client=client)
            return codes

        return await self._uow.run(replace_codes)

    async def deactivate(self, principal: Principal, password: str, client: ClientInfo) -> None:
        """Back to password-only login: needs the password; removes the secret, the confirmed
        number and the recovery codes, and ends every other session of the user."""
        user, state = await self._uow.read(lambda conn: self._user_and_state(conn, principal))
        if state is None or not state.enabled:
            # Nothing to turn off; it also removed the SMS codes, so it reset the SMS limits.
            raise TwoFactorNotEnabled()
        await self._passwords.confirm(user, password, client, "two_factor_password_refused")
        now = self._clock.now()

        async def turn_off(conn: Connection) -> None:
            row = await repository.lock_two_factor(conn, user.id, now)
            if not row.enabled:
                raise TwoFactorNotEnabled()
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
                other_sessions_revoked=ended,
            )

        await self._uow.run(turn_off)

    async def _user_and_state(
        self, conn: Connection, principal: Principal
    ) -> tuple[User, repository.TwoFactorRow | None]:
        user = await require_live_user(conn, principal, self._clock)
        return user, await repository.get_two_factor(conn, user.id)
