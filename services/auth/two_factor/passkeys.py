"""Passkeys as a second factor, the account side: options for a new passkey (with a step-up
while 2FA is on), registering it (the first one turns 2FA on, like activating the app: recovery
codes, every other session ends), listing and removing them (with a step-up; the last second
factor stays until 2FA is turned off). The login side is login/passkey_step.py."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.auth.accounts.profile import require_live_user
from services.auth.domain import ClientInfo, User
from services.auth.platform import audit, events
from services.auth.platform.sql import Connection
from services.auth.platform.webauthn_config import RelyingParty
from services.auth.sessions import repository as sessions_repository
from services.auth.two_factor import passkey_repository as store
from services.auth.two_factor import recovery_codes, repository, webauthn_ceremonies
from services.auth.two_factor.activation import TwoFactor
from services.auth.two_factor.errors import (
    LastSecondFactor,
    PasskeyAlreadyRegistered,
    PasskeyChallengeExpired,
    PasskeyNotFound,
)
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.events.user_events import UserTwoFactorEnabled
from shared.tokens import Principal

CHALLENGE_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class RegisteredPasskey:
    passkey: store.Passkey
    recovery_codes: list[str] | None
    """Only when this passkey turned 2FA on: shown this once."""


class Passkeys:
    """`/v1/me/2fa/passkeys…`."""

    def __init__(
        self, uow: UnitOfWork, clock: Clock, *, rp: RelyingParty, two_factor: TwoFactor
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._rp = rp
        self._two_factor = two_factor

    async def registration_options(
        self,
        principal: Principal,
        password: str | None,
        code: str | None,
        client: ClientInfo,
    ) -> dict[str, Any]:
        """Creation options with a fresh challenge. While 2FA is on, the password and a code
        (or recovery code) are needed, as for every change to the second factor."""
        now = self._clock.now()

        async def without_step_up(conn: Connection) -> dict[str, Any] | None:
            user = await require_live_user(conn, principal, self._clock)
            row = await repository.lock_two_factor(conn, user.id, now)
            if row.enabled:
                return None
            return await self._new_registration(conn, user, now)

        options = await self._uow.run(without_step_up)
        if options is not None:
            return options
        return await self._two_factor.with_step_up(
            principal,
            password or "",
            code,
            client,
            self._new_registration,
        )

    async def _new_registration(
        self, conn: Connection, user: User, now: datetime
    ) -> dict[str, Any]:
        challenge = secrets.token_bytes(webauthn_ceremonies.CHALLENGE_BYTES)
        await store.insert_challenge(
            conn,
            challenge=challenge,
            user_id=user.id,
            purpose="registration",
            mfa_token_hash=None,
            now=now,
            expires_at=now + CHALLENGE_LIFETIME,
        )
        existing = await store.passkeys_of(conn, user.id)
        return webauthn_ceremonies.registration_options(self._rp, user, challenge, existing)

    async def register(
        self, principal: Principal, name: str, credential: dict[str, Any], client: ClientInfo
    ) -> RegisteredPasskey:
        """Verify the browser's registration response against its open challenge and store
        the passkey. Any refusal changes nothing (the challenge stays until it expires)."""
        parsed, challenge = webauthn_ceremonies.read_registration(credential)
        now = self._clock.now()

        async def store_passkey(conn: Connection) -> RegisteredPasskey:
            user = await require_live_user(conn, principal, self._clock)
            row = await repository.lock_two_factor(conn, user.id, now)
            stored = await store.lock_challenge(conn, challenge, user.id, "registration")
            if stored is None or stored.expires_at <= now:
                raise PasskeyChallengeExpired()
            new = webauthn_ceremonies.verify_registration(self._rp, parsed, challenge)
            if await store.lock_by_credential(conn, new.credential_id) is not None:
                raise PasskeyAlreadyRegistered()
            await store.consume_challenge(conn, challenge)
            passkey = await store.insert_passkey(
                conn,
                user_id=user.id,
                credential_id=new.credential_id,
                public_key=new.public_key,
                sign_count=new.sign_count,
                transports=new.transports,
                aaguid=new.aaguid,
                name=name,
                now=now,
            )
            await audit.record(
                conn, "passkey_added", now, user=user, client=client, passkey_id=str(passkey.id)
            )
            codes = None
            if not row.enabled:
                codes = await self._turn_two_factor_on(conn, user, principal, client, now)
            return RegisteredPasskey(passkey, codes)

        return await self._uow.run(store_passkey)

    async def _turn_two_factor_on(
        self, conn: Connection, user: User, principal: Principal, client: ClientInfo, now: datetime
    ) -> list[str]:
        """As activating the app does: recovery codes, every other session ends."""
        codes = recovery_codes.new_codes()
        await repository.replace_recovery_codes(
            conn, user.id, [recovery_codes.digest(c) for c in codes], now
        )
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
            method="passkey",
            other_sessions_revoked=ended,
        )
        return codes

    async def list(self, principal: Principal) -> list[store.Passkey]:
        async def read(conn: Connection) -> list[store.Passkey]:
            user = await require_live_user(conn, principal, self._clock)
            return await store.passkeys_of(conn, user.id)

        return await self._uow.read(read)

    async def remove(
        self,
        principal: Principal,
        passkey_id: UUID,
        password: str,
        code: str | None,
        client: ClientInfo,
    ) -> None:
        """Remove one passkey after a step-up; 404 for one that is not the caller's, 409 for
        the last second factor (turn 2FA off instead)."""

        async def remove_it(conn: Connection, user: User, now: datetime) -> None:
            row = await repository.lock_two_factor(conn, user.id, now)
            if await store.lock_passkey(conn, user.id, passkey_id) is None:
                raise PasskeyNotFound()
            if row.passkeys <= 1 and not row.totp_enabled:
                raise LastSecondFactor()
            await store.delete_passkey(conn, user.id, passkey_id, now)
            await audit.record(
                conn, "passkey_removed", now, user=user, client=client, passkey_id=str(passkey_id)
            )

        await self._two_factor.with_step_up(principal, password, code, client, remove_it)
