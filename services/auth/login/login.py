"""The login use case: the password step, the second factor when 2FA is on, throttling and the
start of the session, in one place.

The password step takes two short transactions around the password hash, and holds no
connection while argon2 runs:

1. admit the attempt through the throttle (counted as a failure until proven right) and read
   the user;
2. record the outcome: a failure in the audit trail, or a success in the throttle (with a rehash
   when the argon2 parameters changed) together with the new session, or, with 2FA on, the
   mfa challenge.

The second step (`second_factor`) is one transaction: the code check, its bookkeeping and the
new session commit together.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.auth.accounts import repository as accounts_repository
from services.auth.accounts.hashing import PasswordHashing, Verification
from services.auth.domain import ClientInfo, User, is_valid_email, normalize_email
from services.auth.login import repository
from services.auth.login.errors import InvalidCredentials, TooManyAttempts
from services.auth.login.second_step import record_second_step
from services.auth.login.throttling import Admission, LoginThrottle
from services.auth.platform import audit
from services.auth.platform.sql import Connection
from services.auth.sessions.sessions import Sessions, StartedSession, TokenPair
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor.errors import InvalidSecondFactor
from services.auth.two_factor.verifier import CodeCheck, CodeVerifier, TwoFactorPolicy
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.logging import get_logger

log = get_logger(__name__)

PASSWORD_AMR = ("pwd",)
OTP_AMR = ("pwd", "otp")
"""Access tokens after the second step (TOTP code or recovery code alike; the audit trail
tells which was used)."""


@dataclass(frozen=True)
class MfaChallenge:
    """The answer of the password step when 2FA is on."""

    mfa_token: str
    expires_in: int

    def as_dict(self) -> dict[str, Any]:
        return {"mfa_required": True, "mfa_token": self.mfa_token, "expires_in": self.expires_in}


def mfa_token_digest(token: str) -> bytes:
    """SHA-256 is enough: the token is random, so there is nothing to brute-force slowly."""
    return hashlib.sha256(token.encode()).digest()


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
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hashing = hashing
        self._throttle = throttle
        self._sessions = sessions
        self._verifier = verifier
        self._policy = policy

    async def password_step(
        self, email: str, password: str, client: ClientInfo
    ) -> TokenPair | MfaChallenge:
        """Tokens, or — with 2FA on — a short-lived single-use mfa_token; InvalidCredentials
        (the same for an unknown e-mail, a wrong password and an inactive user) or
        TooManyAttempts otherwise."""
        account = normalize_email(email)
        now = self._clock.now()
        admission, user = await self._uow.run(lambda conn: self._admit(conn, account, client, now))
        if not admission.allowed:
            log.info("login_refused_throttled", client_address=client.address)
            raise TooManyAttempts(admission.retry_after.total_seconds())
        # An unknown e-mail is verified against a dummy hash: the same work, the same answer.
        verification = await self._hashing.verify(user.password_hash if user else None, password)
        if user is None or not verification.ok or not user.active:
            await self._uow.run(
                lambda conn: self._record_failure(conn, account, user, verification, client)
            )
            raise InvalidCredentials()
        new_hash = await self._hashing.hash(password) if verification.needs_rehash else None
        outcome = await self._uow.run(
            lambda conn: self._record_success(conn, account, user, new_hash, client)
        )
        if new_hash is not None:
            log.info("password_rehashed", user_id=str(user.id))
        if isinstance(outcome, MfaChallenge):
            return outcome
        return self._sessions.token_pair(outcome)

    async def second_factor(self, mfa_token: str, code: str, client: ClientInfo) -> TokenPair:
        """A TOTP code or one recovery code for the mfa_token of the password step."""
        digest = mfa_token_digest(mfa_token)
        now = self._clock.now()
        outcome = await self._uow.run(
            lambda conn: self._check_second_factor(conn, digest, code, client, now)
        )
        if isinstance(outcome, StartedSession):
            return self._sessions.token_pair(outcome)
        if outcome is not None and outcome.throttled_for is not None:
            raise TooManyAttempts(outcome.throttled_for.total_seconds())
        raise InvalidSecondFactor()

    async def _admit(
        self, conn: Connection, account: str, client: ClientInfo, now: datetime
    ) -> tuple[Admission, User | None]:
        admission = await self._throttle.admit(conn, account, client.address, now)
        user = await accounts_repository.find_user_by_email(conn, account)
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
        return admission, user

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
        new_hash: str | None,
        client: ClientInfo,
    ) -> StartedSession | MfaChallenge:
        now = self._clock.now()
        await self._throttle.succeeded(conn, account, client.address, now)
        if new_hash is not None:
            await accounts_repository.replace_password_hash(
                conn, user.id, user.password_hash, new_hash
            )
        state = await two_factor_repository.get_two_factor(conn, user.id)
        if state is None or not state.enabled:
            return await self._sessions.start(conn, user, PASSWORD_AMR, client, now)
        token = secrets.token_urlsafe(32)
        lifetime = self._policy.mfa_token_lifetime
        await repository.insert_challenge(
            conn, mfa_token_digest(token), user.id, now, now + lifetime
        )
        return MfaChallenge(token, round(lifetime.total_seconds()))

    async def _check_second_factor(
        self, conn: Connection, digest: bytes, code: str, client: ClientInfo, now: datetime
    ) -> StartedSession | CodeCheck | None:
        """The session when the code is accepted; the refused check, or None for a dead
        mfa_token (both answered alike, except a throttled user)."""
        user_id = await repository.challenge_user_id(conn, digest)
        if user_id is None:
            return None
        # Lock order: the user's two_factor row, then the challenge (as deactivation does).
        row = await two_factor_repository.lock_two_factor(conn, user_id, now)
        challenge = await repository.lock_challenge(conn, digest)
        user = await accounts_repository.get_user(conn, user_id)
        if (
            challenge is None
            or challenge.consumed_at is not None
            or challenge.expires_at <= now
            or challenge.failed_attempts >= self._policy.failures_per_token
            or user is None
            or not user.active
            or not row.enabled
        ):
            return None
        check = await self._verifier.check(conn, row, code, now, recovery=True)
        await record_second_step(
            conn,
            user=user,
            challenge=challenge,
            check=check,
            client=client,
            now=now,
            failures_per_token=self._policy.failures_per_token,
        )
        if not check.accepted:
            return check
        return await self._sessions.start(conn, user, OTP_AMR, client, now)


def _auditable(account: str) -> str | None:
    """The e-mail typed at login, unless it does not look like one: people type passwords into
    the e-mail field, and those must not reach the audit trail."""
    return account if is_valid_email(account) else None
