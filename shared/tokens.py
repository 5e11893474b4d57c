"""What the auth service's access tokens look like, so the notifier (and any other platform
service) can verify them with nothing but the JWKS document.

Signing lives in the auth service and key lookup in each verifier; the header check, the
decoding options and the claims check that turns a token into a :class:`Principal` are here, so
both services accept and refuse exactly the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, cast
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.events.user_events import Language, Role

ALGORITHM: Final = "EdDSA"  # Ed25519; the only algorithm verifiers accept
ISSUER: Final = "clochette-auth"
AUDIENCE: Final = "clochette"
ACCESS_TOKEN_MAX_SECONDS: Final = 15 * 60
JWKS_PATH: Final = "/.well-known/jwks.json"
# Tolerated clock skew between the auth service and a verifier.
LEEWAY_SECONDS: Final = 5
MAX_TOKEN_LENGTH: Final = 8192

# Claims every access token carries.
REQUIRED_CLAIMS: Final = (
    "sub",
    "org",
    "role",
    "lang",
    "amr",
    "exp",
    "iat",
    "iss",
    "aud",
    "jti",
    "sid",
)
_LANGUAGES: Final = frozenset({"nl", "fr", "en", "de"})
_ROLES: Final = frozenset({"admin", "member"})


@dataclass(frozen=True)
class Principal:
    """The caller of a request, from a verified access token."""

    user_id: UUID
    organization_id: UUID
    role: Role
    language: Language
    session_id: UUID
    amr: tuple[str, ...]
    token_id: str


class TokenRejected(Exception):
    """The token is not an acceptable access token; each service answers with its own problem."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("access token expired" if expired else "access token rejected")
        self.expired = expired


def signing_key_id(token: str) -> str:
    """The `kid` of a token whose header names the one accepted algorithm.

    Checked before any key is looked up: `none`, HS256 keyed with the public key, RS*, … never
    reach a verification routine.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected() from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise TokenRejected()
    return kid


def verified_principal(token: str, key: Ed25519PublicKey, now: float) -> Principal:
    """Check signature, issuer and audience with `key`, then the claims against `now` (seconds
    since the epoch, from the caller's clock)."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Lifetime is checked below against the caller's (injectable) clock.
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError:
        raise TokenRejected() from None
    return principal_from_claims(claims, now)


def principal_from_claims(claims: dict[str, Any], now: float) -> Principal:
    """The caller named by verified claims, or TokenRejected when they break the token rules."""
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise TokenRejected()
    expires_at, issued_at = float(exp), float(iat)
    if now >= expires_at + LEEWAY_SECONDS:
        raise TokenRejected(expired=True)
    # Access tokens are short-lived by contract; a long-lived one was not minted by the auth
    # service's rules, whoever signed it.
    if issued_at > now + LEEWAY_SECONDS or expires_at - issued_at > (
        ACCESS_TOKEN_MAX_SECONDS + LEEWAY_SECONDS
    ):
        raise TokenRejected()
    amr, role, language = claims.get("amr"), claims.get("role"), claims.get("lang")
    if not isinstance(amr, list) or not all(isinstance(method, str) for method in amr):
        raise TokenRejected()
    if role not in _ROLES or language not in _LANGUAGES:
        raise TokenRejected()
    try:
        return Principal(
            user_id=UUID(str(claims["sub"])),
            organization_id=UUID(str(claims["org"])),
            role=cast(Role, role),
            language=cast(Language, language),
            session_id=UUID(str(claims["sid"])),
            amr=tuple(amr),
            token_id=str(claims["jti"]),
        )
    except (KeyError, ValueError):
        raise TokenRejected() from None
