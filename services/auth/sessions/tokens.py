"""Access tokens (EdDSA JWTs, shared/tokens.py conventions) and opaque refresh tokens.

Access tokens carry `sid`: the session (refresh token family) they
belong to, so "every other session" can be told from the current one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import jwt

from services.auth.domain import User
from services.auth.sessions.errors import InvalidAccessToken
from services.auth.sessions.keys import SigningKeys
from shared.clock import Clock
from shared.tokens import (
    ACCESS_TOKEN_MAX_SECONDS,
    ALGORITHM,
    AUDIENCE,
    ISSUER,
    Principal,
    TokenRejected,
    signing_key_id,
    verified_principal,
)

REFRESH_TOKEN_PREFIX: Final = "clr_"  # noqa: S105 - lets secret scanners spot leaked tokens


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int


def new_refresh_token() -> tuple[str, bytes]:
    """A new opaque refresh token (256 random bits) and the digest that is stored."""
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, refresh_token_digest(token)


def successor_refresh_token(key: bytes, token: str) -> tuple[str, bytes]:
    """The refresh token that replaces `token` at its rotation, and its digest: an HMAC of the
    presented token under a key derived from CLOCHETTE_SECRET_KEY. Unpredictable without that
    key and the presented token, and the same every time, so a retry within the reuse interval
    is answered with the same successor without storing it anywhere."""
    mac = hmac.new(key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    successor = REFRESH_TOKEN_PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return successor, refresh_token_digest(successor)


def refresh_token_digest(token: str) -> bytes:
    """SHA-256 is enough: the token is random, so there is nothing to brute-force slowly."""
    return hashlib.sha256(token.encode()).digest()


class AccessTokens:
    """Signs access tokens with the current key and verifies them against published keys."""

    def __init__(self, keys: SigningKeys, clock: Clock, lifetime: timedelta) -> None:
        if lifetime.total_seconds() > ACCESS_TOKEN_MAX_SECONDS:
            raise ValueError("access tokens live at most 15 minutes")
        self._keys = keys
        self._clock = clock
        self._lifetime = lifetime

    def issue(self, user: User, session_id: uuid.UUID, amr: tuple[str, ...]) -> IssuedAccessToken:
        now = self._clock.now()
        key = self._keys.ring.signing_key(now)
        if key is None or key.private_key is None:
            raise RuntimeError("no usable signing key; SigningKeys.load() was not awaited")
        issued_at = int(now.timestamp())
        expires_at = issued_at + int(self._lifetime.total_seconds())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user.id),
            "org": str(user.organization_id),
            "role": user.role,
            "lang": user.language,
            "amr": list(amr),
            "sid": str(session_id),
            "iat": issued_at,
            "exp": expires_at,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
        return IssuedAccessToken(token, expires_at - issued_at)

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; InvalidAccessToken for anything else."""
        try:
            kid = signing_key_id(token)
        except TokenRejected:
            raise InvalidAccessToken() from None
        now = self._clock.now()
        key = self._keys.ring.verification_key(kid, now)
        if key is None:
            await self._keys.reload_for_unknown_kid()
            key = self._keys.ring.verification_key(kid, now)
        if key is None:
            raise InvalidAccessToken()
        try:
            return verified_principal(token, key, now.timestamp())
        except TokenRejected as rejected:
            if rejected.expired:
                raise InvalidAccessToken("The access token has expired.") from None
            raise InvalidAccessToken() from None
