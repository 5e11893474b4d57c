"""Access tokens (EdDSA JWTs, shared/tokens.py conventions) and opaque refresh tokens.

Access tokens carry, besides the shared claims, `sid`: the session (refresh token family) they
belong to, so "every other session" can be told from the current one.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import jwt

from shared.clock import Clock
from services.auth.domain import Principal, User, as_language, as_role
from services.auth.errors import InvalidAccessToken
from services.auth.keys import SigningKeys
from shared.tokens import ACCESS_TOKEN_MAX_SECONDS, ALGORITHM, AUDIENCE, ISSUER, REQUIRED_CLAIMS

REFRESH_TOKEN_PREFIX: Final = "clr_"  # noqa: S105 - lets secret scanners spot leaked tokens
_MAX_TOKEN_LENGTH: Final = 8192
# Several instances' clocks may differ a little.
LEEWAY: Final = timedelta(seconds=5)


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int


def new_refresh_token() -> tuple[str, bytes]:
    """A new opaque refresh token (256 random bits) and the digest that is stored."""
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, refresh_token_digest(token)


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
        if len(token) > _MAX_TOKEN_LENGTH:
            raise InvalidAccessToken()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidAccessToken() from None
        kid = header.get("kid")
        # Checked first: `none`, HS256 keyed with the public key and the like never get further.
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidAccessToken()
        now = self._clock.now()
        key = self._keys.ring.verification_key(kid, now)
        if key is None:
            await self._keys.reload_for_unknown_kid()
            key = self._keys.ring.verification_key(kid, now)
        if key is None:
            raise InvalidAccessToken()
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                # Lifetime is checked below against the injectable clock.
                options={
                    "require": [*REQUIRED_CLAIMS, "sid"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise InvalidAccessToken() from None
        return self._principal(claims, now)

    def _principal(self, claims: dict[str, Any], now: datetime) -> Principal:
        timestamp = now.timestamp()
        try:
            expires_at, issued_at = float(claims["exp"]), float(claims["iat"])
            if timestamp >= expires_at + LEEWAY.total_seconds():
                raise InvalidAccessToken("The access token has expired.")
            if issued_at > timestamp + LEEWAY.total_seconds():
                raise InvalidAccessToken()
            amr = claims["amr"]
            if not isinstance(amr, list) or not all(isinstance(m, str) for m in amr):
                raise InvalidAccessToken()
            return Principal(
                user_id=uuid.UUID(str(claims["sub"])),
                organization_id=uuid.UUID(str(claims["org"])),
                role=as_role(str(claims["role"])),
                language=as_language(str(claims["lang"])),
                session_id=uuid.UUID(str(claims["sid"])),
                amr=tuple(amr),
                token_id=str(claims["jti"]),
            )
        except (TypeError, ValueError):
            raise InvalidAccessToken() from None
