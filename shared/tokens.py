"""What the auth service's access tokens look like, so the notifier (and any other platform
service) can verify them with nothing but the JWKS document.

Signing lives in the auth service, verification in each consumer; this module only fixes the
conventions both sides rely on.
"""

from __future__ import annotations

from typing import Final

ALGORITHM: Final = "EdDSA"  # Ed25519; the only algorithm verifiers accept
ISSUER: Final = "clochette-auth"
AUDIENCE: Final = "clochette"
ACCESS_TOKEN_MAX_SECONDS: Final = 15 * 60
JWKS_PATH: Final = "/.well-known/jwks.json"

# Claims every access token carries.
REQUIRED_CLAIMS: Final = ("sub", "org", "role", "lang", "amr", "exp", "iat", "iss", "aud", "jti")
