"""Device tokens (OWASP "device cookies" for an API): what a successful login hands the client so
that its next logins are judged by the device's own failure counter.

A device token is not a credential: it never lets anyone in without the password (and the second
factor); it only decides which throttle counter an attempt is judged by. It is random (256 bits),
stored as SHA-256 only, bound to one user and valid `lifetime` after its last successful use.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

from services.auth.login import repository
from services.auth.platform.sql import Connection

DEVICE_TOKEN_PREFIX: Final = "cld_"  # noqa: S105 - lets secret scanners spot leaked tokens
MIN_LIFETIME: Final = timedelta(days=90)


def device_token_digest(token: str) -> bytes:
    """SHA-256 is enough: the token is random, so there is nothing to brute-force slowly."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class Devices:
    lifetime: timedelta

    async def remember(
        self, conn: Connection, user_id: UUID, presented: str | None, valid: bool, now: datetime
    ) -> str:
        """The device token for the answer of a successful login: the presented one renewed when
        it is a valid token of this user, a new one otherwise."""
        token = presented if presented is not None and valid else None
        if token is None:
            token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
        await repository.remember_device(
            conn, device_token_digest(token), user_id, now, now + self.lifetime
        )
        return token

    async def is_valid(
        self, conn: Connection, user_id: UUID, presented: str | None, now: datetime
    ) -> bool:
        if presented is None:
            return False
        digest = device_token_digest(presented)
        return await repository.lock_device_token(conn, digest, user_id, now) is not None
