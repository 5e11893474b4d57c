"""The login use case: the password step, the second factor when 2FA is on, throttling and the
start of the session, in one place.

The password step takes two short transactions around the password hash, and holds no
connection while argon2 runs:

1. read the user and admit the attempt through the throttle (counted as a failure until proven
   right) — by the device's own counter when it comes with a valid device token of the account;
2. record the outcome: a failure in the audit trail, or a success in the throttle (with a rehash
   when the argon2 parameters changed) together with the new session and the device token, or,
   with 2FA on, the mfa challenge. An attempt abandoned while its password was hashed is taken
   back instead.

The second step (`second_factor`) is one transaction: the code check, its bookkeeping and the
new session commit together.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.auth.accounts import repository as accounts_repository
from services.auth.accounts.hashing import PasswordHashing, Verification
from services.auth.domain import ClientInfo, User, is_valid_email, normalize_email
from services.auth.login import repository
from services.auth.login.devices import Devices, device_token_digest
from services.auth.login.errors import InvalidCredentials, TooManyAttempts
from services.auth.login.new_sign_in import alert_unless_known_device
from services.auth.login.second_step import (
    MfaChallenge,
    SecondStepAttempt,
    StartedWithDevice,
    check_second_step,
    mfa_token_digest,
)
from services.auth.login.throttling import Admission, LoginThrottle
from services.auth.platform import audit
from services.auth.platform.sql import Connection
from services.auth.sessions.sessions import Sessions, TokenPair
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor.errors import InvalidSecondFactor
from services.auth.two_factor.verifier import CodeVerifier, TwoFactorPolicy
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.logging import get_logger

log = get_logger(__name__)

_NOBODY = uuid.UUID(int=0)
PASSWORD_AMR = ("pwd",)


@dataclass(frozen=True)
class _Admitted:
    """The outcome of transaction 1: the throttle's decision, the user, and the device token of
    that user the attempt came with (None without a valid one)."""

    admission: Admission
    user: User | None
    device: repository.DeviceToken | None


class Login:
    """`POST /v1/auth/login` and `POST /v1/auth/login/2fa`."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        hashing: PasswordHashing,
        throttle: LoginThrottle,
        sessions: Sessions,
        verifier: CodeVerifier,
        policy: TwoFactorPolicy,
        devices: Devices,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hashing = hashing
        self._throttle = throttle
        self._sessions = sessions
        self._verifier = verifier
        self._policy = policy
        self._devices = devices
        self._settling: set[asyncio.Future[Any]] = set()

    async def password_step(
        self, email: str, password: str, client: ClientInfo, device_token: str | None = None
    ) -> TokenPair | MfaChallenge:
        """Tokens (with a device token), or — with 2FA on — a short-lived single-use mfa_token;
        InvalidCredentials (the same for an unknown e-mail, a wrong password and an inactive
        user) or TooManyAttempts otherwise. A valid device token of the account has the attempt
        judged by that device's own counter; any other device token is ignored."""
        account = normalize_email(email)
        now = self._clock.now()
        admitted = await self._uow.run(
            lambda conn: self._admit(conn, account, client, now, device_token)
        )
        if not admitted.admission.allowed:
            log.info("login_refused_throttled", client_address=client.address)
            raise TooManyAttempts(admitted.admission.retry_after.total_seconds())
        # The check runs to its end even when the caller is cancelled (the client went away):
        # the hash keeps its place among the attempts in flight until it is done, and only then
        # is the abandoned attempt taken back, so abandoning gives no extra guesses.
        abandoned = asyncio.Event()
        settling = asyncio.ensure_future(
            self._settle(
                account,
                password,
                client,
                admitted=admitted,
                device_token=device_token,
                abandoned=abandoned,
            )
        )
        self._settling.add(settling)
        settling.add_done_callback(self._forget_settled)
        try:
            result = await asyncio.shield(settling)
        except asyncio.CancelledError:
            abandoned.set()
            raise
        if result is None:  # pragma: no cover - only abandoned attempts settle without a result
            raise InvalidCredentials()
        return result

    async def settled(self) -> None:
        """Wait until every abandoned attempt has been taken back (tests, shutdown)."""
        while self._settling:
            await asyncio.gather(*self._settling, return_exceptions=True)

    async def second_factor(
        self, mfa_token: str, code: str, client: ClientInfo, device_token: str | None = None
    ) -> TokenPair:
        """A TOTP code or one recovery code for the mfa_token of the password step."""
        digest = mfa_token_digest(mfa_token)
        now = self._clock.now()
        outcome = await self._uow.run(
            lambda conn: check_second_step(
                conn,
                SecondStepAttempt(digest, code, client, now, device_token),
                policy=self._policy,
                verifier=self._verifier,
                sessions=self._sessions,
                devices=self._devices,
            )
        )
        if isinstance(outcome, StartedWithDevice):
            return replace(self._sessions.token_pair(outcome.session), device_token=outcome.device)
        if outcome is not None and outcome.throttled_for is not None:
            raise TooManyAttempts(outcome.throttled_for.total_seconds())
        raise InvalidSecondFactor()

    async def _admit(
        self,
        conn: Connection,
        account: str,
        client: ClientInfo,
        now: datetime,
        device_token: str | None,
    ) -> _Admitted:
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
                email=_auditable(account),
                client=client,
                scopes=",".join(admission.newly_blocked_scopes),
                retry_after_seconds=round(admission.retry_after.total_seconds()),
            )
        return _Admitted(admission, user, device)

    async def _settle(
        self,
        account: str,
        password: str,
        client: ClientInfo,
        *,
        admitted: _Admitted,
        device_token: str | None,
        abandoned: asyncio.Event,
    ) -> TokenPair | MfaChallenge | None:
        """The password check and its outcome (transaction 2); for an attempt abandoned during
        the check, the failure counted at admission taken back instead."""
        user = admitted.user
        # An unknown e-mail is verified against a dummy hash: the same work, the same answer.
        verification = await self._hashing.verify(user.password_hash if user else None, password)
        if abandoned.is_set():
            await self._uow.run(lambda conn: self._withdraw(conn, account, client, admitted))
            log.info("login_abandoned", client_address=client.address)
            return None
        if user is None or not verification.ok or not user.active:
            await self._uow.run(
                lambda conn: self._record_failure(conn, account, user, verification, client)
            )
            raise InvalidCredentials()
        new_hash = await self._hashing.hash(password) if verification.needs_rehash else None
        outcome = await self._uow.run(
            lambda conn: self._record_success(
                conn,
                account,
                user,
                new_hash=new_hash,
                client=client,
                device=admitted.device,
                device_token=device_token,
            )
        )
        if new_hash is not None:
            log.info("password_rehashed", user_id=str(user.id))
        if isinstance(outcome, MfaChallenge):
            return outcome
        return replace(self._sessions.token_pair(outcome.session), device_token=outcome.device)

    def _forget_settled(self, task: asyncio.Future[Any]) -> None:
        self._settling.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the caller saw it, or went away

    async def _withdraw(
        self, conn: Connection, account: str, client: ClientInfo, admitted: _Admitted
    ) -> None:
        now = self._clock.now()
        if admitted.device is not None:
            await self._throttle.device_withdraw(conn, admitted.device, now)
        else:
            await self._throttle.withdraw(conn, account, client.address, now)

    async def _record_failure(
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
            email=_auditable(account),
            client=client,
            reason=reason,
        )

    async def _record_success(
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


def _auditable(account: str) -> str | None:
    """The e-mail typed at login, unless it does not look like one: people type passwords into
    the e-mail field, and those must not reach the audit trail."""
    return account if is_valid_email(account) else None
