"""Confirming a mobile number: the SMS code goes out through the outbox (within the SMS budget),
and the right code confirms the number and creates the TOTP secret, pending until activation."""

from __future__ import annotations

import hmac
from datetime import timedelta

from services.auth.accounts.profile import require_live_user
from services.auth.domain import ClientInfo
from services.auth.platform import audit, outbox
from services.auth.platform.crypto import derive_key
from services.auth.platform.sql import Connection
from services.auth.two_factor import phone_verification, repository, totp
from services.auth.two_factor.errors import InvalidCode, SmsLimitReached, TwoFactorStateConflict
from services.auth.two_factor.sms import sms_requested
from services.auth.two_factor.sms_budget import SMS_REFUSED, SMS_REQUESTED, SmsBudget
from services.auth.two_factor.verifier import CodeVerifier, TwoFactorPolicy
from shared.clock import Clock
from shared.db import UnitOfWork
from shared.logging import get_logger
from shared.tokens import Principal
from shared.topics import SMS_REQUESTED_TOPIC

log = get_logger(__name__)

SMS_CODE_KEY_PURPOSE = "sms-code"
SMS_CODE_MAX_ATTEMPTS = 5


class PhoneConfirmation:
    """`POST /v1/me/2fa/phone` and `POST /v1/me/2fa/phone/verify`."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        *,
        secret_key: str,
        policy: TwoFactorPolicy,
        budget: SmsBudget,
        verifier: CodeVerifier,
        log_sms: bool,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._policy = policy
        self._budget = budget
        self._verifier = verifier
        self._sms_key = derive_key(secret_key, SMS_CODE_KEY_PURPOSE)
        self._log_sms = log_sms

    async def request_code(self, principal: Principal, raw_number: str, client: ClientInfo) -> None:
        """Send a 6-digit code by SMS (through the outbox) to confirm a mobile number."""
        phone = phone_verification.parse_mobile_number(raw_number)
        now = self._clock.now()

        async def queue_sms(conn: Connection) -> str:
            user = await require_live_user(conn, principal, self._clock)
            row = await repository.lock_two_factor(conn, user.id, now)
            if row.totp_enabled:
                raise TwoFactorStateConflict(
                    "Two-factor authentication is on: deactivate it before changing the number."
                )
            await self._budget.spend(
                conn,
                user_id=user.id,
                organization_id=user.organization_id,
                phone_number=phone,
                now=now,
            )
            code = phone_verification.new_code()
            digest = phone_verification.code_digest(self._sms_key, str(user.id), phone, code)
            expires = now + timedelta(minutes=phone_verification.CODE_VALID_MINUTES)
            await repository.insert_verification(
                conn,
                user_id=user.id,
                phone_number=phone,
                digest=digest,
                now=now,
                expires_at=expires,
            )
            text = phone_verification.sms_text(user.language, code)
            payload = sms_requested(
                organization_id=user.organization_id,
                user_id=user.id,
                phone_number=phone,
                language=user.language,
                text=text,
                now=now,
            )
            await outbox.enqueue(conn, SMS_REQUESTED_TOPIC, str(user.organization_id), payload, now)
            await audit.record(conn, "phone_code_sent", now, user=user, client=client)
            return text

        try:
            text = await self._uow.run(queue_sms)
        except SmsLimitReached as refused:
            SMS_REFUSED.labels(refused.limit).inc()
            log.info("sms_refused", limit=refused.limit, user_id=str(principal.user_id))
            raise
        SMS_REQUESTED.inc()
        if self._log_sms:
            # Development only (never in production): `clochette dev` shows the SMS here.
            log.info("sms_requested", phone=phone, text=text)

    async def verify(self, principal: Principal, code: str, client: ClientInfo) -> totp.Enrollment:
        """Confirm the number with the SMS code; a TOTP secret is created, pending until a
        code from the app activates it."""
        now = self._clock.now()

        async def confirm(conn: Connection) -> totp.Enrollment | None:
            user = await require_live_user(conn, principal, self._clock)
            row = await repository.lock_two_factor(conn, user.id, now)
            if row.totp_enabled:
                raise TwoFactorStateConflict("Two-factor authentication is already on.")
            pending = await repository.lock_open_verification(conn, user.id)
            if (
                pending is not None
                and pending.expires_at > now
                and pending.attempts < SMS_CODE_MAX_ATTEMPTS
            ):
                expected = phone_verification.code_digest(
                    self._sms_key, str(user.id), pending.phone_number, code.strip()
                )
                if hmac.compare_digest(expected, pending.code_digest):
                    await repository.update_verification(conn, pending.id, pending.attempts, now)
                    enrollment = totp.enrollment(user.email, self._policy.issuer)
                    sealed = self._verifier.seal(user.id, enrollment.secret)
                    await repository.confirm_phone_and_set_pending_secret(
                        conn, user.id, pending.phone_number, sealed, now
                    )
                    await audit.record(conn, "phone_confirmed", now, user=user, client=client)
                    return enrollment
                await repository.update_verification(conn, pending.id, pending.attempts + 1, None)
            await audit.record(
                conn,
                "phone_code_refused",
                now,
                user=user,
                client=client,
                attempts=pending.attempts + 1 if pending else 0,
            )
            return None

        enrollment = await self._uow.run(confirm)
        if enrollment is None:
            raise InvalidCode()
        return enrollment
