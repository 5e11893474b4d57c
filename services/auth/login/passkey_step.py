"""The second login step with a passkey: request options for the mfa_token of the password step
(allowCredentials = the user's passkeys), then verify the browser's assertion in one
transaction with the same bookkeeping as a code: the challenge's count of failures (a run of
them kills the login), the audit trail, the user's lock-out, the device token, the session
and the new sign-in alert (services/auth/login/new_sign_in.py).

An unreadable assertion (422), an expired or already used WebAuthn challenge, an expired
mfa_token and a locked-out user change nothing; a verification failure counts against the
mfa_token like a wrong code and is audited (a signature counter that went backwards as a
possible clone)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.auth.domain import ClientInfo
from services.auth.login import repository
from services.auth.login.devices import Devices
from services.auth.login.errors import TooManyAttempts
from services.auth.login.second_step import (
    LiveSecondStep,
    StartedWithDevice,
    live_second_step,
    mfa_token_digest,
    start_with_device,
)
from services.auth.platform import audit
from services.auth.platform.sql import Connection
from services.auth.platform.webauthn_config import RelyingParty
from services.auth.sessions.sessions import Sessions, TokenPair
from services.auth.two_factor import passkey_repository as store
from services.auth.two_factor import webauthn_ceremonies
from services.auth.two_factor.errors import (
    InvalidSecondFactor,
    NoPasskey,
    PasskeyAssertionRefused,
    PasskeyChallengeExpired,
)
from services.auth.two_factor.passkeys import CHALLENGE_LIFETIME
from services.auth.two_factor.verifier import TwoFactorPolicy
from shared.clock import Clock
from shared.db import UnitOfWork

PASSKEY_AMR = ("pwd", "hwk")
"""Access tokens after a passkey (RFC 8176: proof of possession of a hardware-secured key)."""


class PasskeyLogin:
    """`POST /v1/auth/login/2fa/passkey-options` and `POST /v1/auth/login/2fa` with `passkey`."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        rp: RelyingParty,
        policy: TwoFactorPolicy,
        sessions: Sessions,
        devices: Devices,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._rp = rp
        self._policy = policy
        self._sessions = sessions
        self._devices = devices

    async def options(self, mfa_token: str) -> dict[str, Any]:
        digest = mfa_token_digest(mfa_token)
        now = self._clock.now()

        async def issue(conn: Connection) -> dict[str, Any]:
            live = await self._live(conn, digest, now)
            passkeys = await store.passkeys_of(conn, live.user.id)
            if not passkeys:
                raise NoPasskey()
            challenge = secrets.token_bytes(webauthn_ceremonies.CHALLENGE_BYTES)
            await store.insert_challenge(
                conn,
                challenge=challenge,
                user_id=live.user.id,
                purpose="authentication",
                mfa_token_hash=digest,
                now=now,
                expires_at=min(now + CHALLENGE_LIFETIME, live.challenge.expires_at),
            )
            return webauthn_ceremonies.authentication_options(self._rp, challenge, passkeys)

        return await self._uow.run(issue)

    async def second_factor(
        self,
        mfa_token: str,
        assertion: dict[str, Any],
        client: ClientInfo,
        device_token: str | None = None,
    ) -> TokenPair:
        parsed, challenge = webauthn_ceremonies.read_assertion(assertion)
        digest = mfa_token_digest(mfa_token)
        now = self._clock.now()

        async def check(conn: Connection) -> StartedWithDevice | PasskeyAssertionRefused:
            live = await self._live(conn, digest, now)
            user, row = live.user, live.row
            if row.code_blocked_until is not None and row.code_blocked_until > now:
                raise TooManyAttempts((row.code_blocked_until - now).total_seconds())
            stored = await store.lock_challenge(conn, challenge, user.id, "authentication")
            if stored is None or stored.mfa_token_hash != digest or stored.expires_at <= now:
                raise PasskeyChallengeExpired()
            passkey = await store.lock_by_credential(conn, parsed.raw_id)
            if passkey is None or passkey.user_id != user.id:
                return await self._refused(conn, live, client, now, "unknown_passkey")
            new_count = webauthn_ceremonies.verify_assertion(self._rp, parsed, challenge, passkey)
            if new_count is None:
                return await self._refused(conn, live, client, now, "verification_failed")
            if webauthn_ceremonies.counter_regressed(passkey.sign_count, new_count):
                await audit.record(
                    conn,
                    "passkey_clone_suspected",
                    now,
                    user=user,
                    client=client,
                    passkey_id=str(passkey.id),
                    stored_count=passkey.sign_count,
                    presented_count=new_count,
                )
                return await self._refused(conn, live, client, now, "counter_regressed")
            await store.consume_challenge(conn, challenge)
            await store.record_use(conn, passkey.id, new_count, now)
            await repository.update_challenge(conn, digest, live.challenge.failed_attempts, now)
            return await start_with_device(
                conn,
                user,
                PASSKEY_AMR,
                client,
                now,
                device_token=device_token,
                sessions=self._sessions,
                devices=self._devices,
            )

        outcome = await self._uow.run(check)
        if isinstance(outcome, PasskeyAssertionRefused):
            raise outcome
        return replace(self._sessions.token_pair(outcome.session), device_token=outcome.device)

    async def _live(self, conn: Connection, digest: bytes, now: datetime) -> LiveSecondStep:
        """The half-done login while it can still finish; InvalidSecondFactor otherwise (as for
        a code)."""
        live = await live_second_step(
            conn, digest, now, failures_per_token=self._policy.failures_per_token
        )
        if live is None:
            raise InvalidSecondFactor()
        return live

    async def _refused(
        self, conn: Connection, live: LiveSecondStep, client: ClientInfo, now: datetime, reason: str
    ) -> PasskeyAssertionRefused:
        """Counted against the mfa_token like a wrong code (a run of them ends the login)."""
        failed = live.challenge.failed_attempts + 1
        dead = failed >= self._policy.failures_per_token
        await repository.update_challenge(
            conn, live.challenge.token_hash, failed, now if dead else None
        )
        await audit.record(
            conn,
            "passkey_refused",
            now,
            user=live.user,
            client=client,
            reason=reason,
            failed_attempts=failed,
        )
        return PasskeyAssertionRefused(
            "The passkey was not accepted: use a passkey of this account, or a code."
        )
