"""The login use case: the password step, the second factor when 2FA is on, throttling and the
start of the session, in one place.

The password step takes two short transactions around the password hash, and holds no
connection while argon2 runs (the transactions themselves are in `password_records.py`):

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
from dataclasses import replace
from typing import Any

from services.auth.accounts.hashing import PasswordHashing
from services.auth.domain import ClientInfo, normalize_email
from services.auth.login.devices import Devices
from services.auth.login.errors import InvalidCredentials, TooManyAttempts
from services.auth.login.password_records import Admitted, PasswordRecords
from services.auth.login.second_step import (
    MfaChallenge,
    SecondStepAttempt,
    StartedWithDevice,
    check_second_step,
    mfa_token_digest,
)
from services.auth.login.throttling import LoginThrottle
from services.auth.sessions.sessions import Sessions, TokenPair
from services.auth.two_factor.errors import InvalidSecondFactor
from services.auth.two_factor.verifier import CodeVerifier, TwoFactorPolicy
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.logging import get_logger

log = get_logger(__name__)


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
        self._sessions = sessions
        self._verifier = verifier
        self._policy = policy
        self._devices = devices
        self._records = PasswordRecords(
            clock, throttle=throttle, sessions=sessions, policy=policy, devices=devices
        )
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
            lambda conn: self._records.admit(conn, account, client, now, device_token)
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

    async def _settle(
        self,
        account: str,
        password: str,
        client: ClientInfo,
        *,
        admitted: Admitted,
        device_token: str | None,
        abandoned: asyncio.Event,
    ) -> TokenPair | MfaChallenge | None:
        """The password check and its outcome (transaction 2); for an attempt abandoned during
        the check, the failure counted at admission taken back instead."""
        user = admitted.user
        # An unknown e-mail is verified against a dummy hash: the same work, the same answer.
        verification = await self._hashing.verify(user.password_hash if user else None, password)
        if abandoned.is_set():
            await self._uow.run(
                lambda conn: self._records.withdraw(conn, account, client, admitted)
            )
            log.info("login_abandoned", client_address=client.address)
            return None
        if user is None or not verification.ok or not user.active:
            await self._uow.run(
                lambda conn: self._records.record_failure(conn, account, user, verification, client)
            )
            raise InvalidCredentials()
        new_hash = await self._hashing.hash(password) if verification.needs_rehash else None
        outcome = await self._uow.run(
            lambda conn: self._records.record_success(
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
