"""The two transactions of the login's password step (services/auth/login/login.py runs the
password hash between them, holding no connection):

1. `admit`: read the user and admit the attempt through the throttle (counted as a failure until
   proven right) — by the device's own counter when it comes with a valid device token of the
   account; an attempt newly blocked is audited;
2. the outcome: `record_failure` (the audit trail learns why), `record_success` (the throttle,
   a rehash when the argon2 parameters changed, and the new session with its device token and
   new sign-in alert, or — with 2FA on — the mfa challenge), or `withdraw` for an attempt
   abandoned while its password was hashed.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.auth.accounts import repository as accounts_repository
from services.auth.accounts.hashing import Verification
from services.auth.domain import ClientInfo, User, is_valid_email
from services.auth.login import repository
from services.auth.login.devices import Devices, device_token_digest
from services.auth.login.new_sign_in import alert_unless_known_device
from services.auth.login.second_step import MfaChallenge, StartedWithDevice, mfa_token_digest
from services.auth.login.throttling import Admission, LoginThrottle
from services.auth.platform import audit
from services.auth.platform.sql import Connection
from services.auth.sessions.sessions import Sessions
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor.verifier import TwoFactorPolicy
from shared.clock import Clock

_NOBODY = uuid.UUID(int=0)
PASSWORD_AMR = ("pwd",)


@dataclass(frozen=True)
class Admitted:
    """The outcome of transaction 1: the throttle's decision, the user, and the device token of
    that user the attempt came with (None without a valid one)."""

    admission: Admission
    user: User | None
    device: repository.DeviceToken | None


class PasswordRecords:
    """The database side of the password step, each method in the caller's transaction."""

    def __init__(
        self,
        clock: Clock,
        *,
        throttle: LoginThrottle,
        sessions: Sessions,
        policy: TwoFactorPolicy,
        devices: Devices,
    ) -> None:
        self._clock = clock
        self._throttle = throttle
        self._sessions = sessions
        self._policy = policy
        self._devices = devices

    async def admit(
        self,
        conn: Connection,
        account: str,
        client: ClientInfo,
        now: datetime,
        device_token: str | None,
    ) -> Admitted:
        user = await accounts_repository.find_user_by_email(conn, account)
        device = None
        if device_token is not None:
            # Looked up for unknown e-mails too: the same queries whether the account exists.
            digest = device_token_digest(device_token)
            owner = user.id if user is not None else _NOBODY
            device = await repository.lock_device_token(conn, digest, owner, now)
        if device is not None:
            admission = await self._throttle.admit_device(conn, device, now)
        else:
            admission = await self._throttle.admit(conn, account, client.address, now)
        if not admission.allowed and admission.newly_blocked_scopes:
            await audit.record(
                conn,
                "login_throttled",
                now,
                user=user,
                email=auditable(account),
                client=client,
                scopes=",".join(admission.newly_blocked_scopes),
                retry_after_seconds=round(admission.retry_after.total_seconds()),
            )
        return Admitted(admission, user, device)

    async def withdraw(
        self, conn: Connection, account: str, client: ClientInfo, admitted: Admitted
    ) -> None:
        now = self._clock.now()
        if admitted.device is not None:
            await self._throttle.device_withdraw(conn, admitted.device, now)
        else:
            await self._throttle.withdraw(conn, account, client.address, now)

    async def record_failure(
        self,
        conn: Connection,
        account: str,
        user: User | None,
        verification: Verification,
        client: ClientInfo,
    ) -> None:
        """The attempt stays counted by the throttle; only the audit trail learns why."""
        reason = "unknown_account" if user is None else "wrong_password"
        if user is not None and verification.ok:
            reason = "inactive_account"
        await audit.record(
            conn,
            "login_failed",
            self._clock.now(),
            user=user,
            email=auditable(account),
            client=client,
            reason=reason,
        )

    async def record_success(
        self,
        conn: Connection,
        account: str,
        user: User,
        *,
        new_hash: str | None,
        client: ClientInfo,
        device: repository.DeviceToken | None,
        device_token: str | None,
    ) -> StartedWithDevice | MfaChallenge:
        now = self._clock.now()
        if device is not None:
            await self._throttle.device_succeeded(conn, device, now)
        else:
            await self._throttle.succeeded(conn, account, client.address, now)
        if new_hash is not None:
            await accounts_repository.replace_password_hash(
                conn, user.id, user.password_hash, new_hash
            )
        state = await two_factor_repository.get_two_factor(conn, user.id)
        if state is None or not state.enabled:
            session = await self._sessions.start(conn, user, PASSWORD_AMR, client, now)
            known = await self._devices.remember(
                conn, user.id, device_token, device is not None, now
            )
            await alert_unless_known_device(
                conn, user, session.session_id, client, now, known_device=device is not None
            )
            return StartedWithDevice(session, known)
        token = secrets.token_urlsafe(32)
        lifetime = self._policy.mfa_token_lifetime
        await repository.insert_challenge(
            conn, mfa_token_digest(token), user.id, now, now + lifetime
        )
        return MfaChallenge(token, round(lifetime.total_seconds()))


def auditable(account: str) -> str | None:
    """The e-mail typed at login, unless it does not look like one: people type passwords into
    the e-mail field, and those must not reach the audit trail."""
    return account if is_valid_email(account) else None
