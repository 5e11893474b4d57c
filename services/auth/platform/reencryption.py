"""Re-sealing every secret at rest (TOTP secrets, signing keys' private halves) when
CLOCHETTE_SECRET_KEY changes (`clochette secrets reencrypt`)."""

from __future__ import annotations

from services.auth.platform.crypto import Sealer
from services.auth.platform.sql import Connection
from services.auth.sessions import repository as sessions_repository
from services.auth.sessions.keys import SEALING_PURPOSE as SIGNING_KEYS_PURPOSE
from services.auth.two_factor import repository as two_factor_repository
from services.auth.two_factor.verifier import TOTP_SEALING_PURPOSE


async def reencrypt_secrets(conn: Connection, old_key: str, new_key: str) -> dict[str, int]:
    """Re-seal every TOTP secret and every signing key's private half from the old
    CLOCHETTE_SECRET_KEY to the new one, in the caller's transaction; returns how many of
    each. Raises CannotUnseal (and changes nothing, once the transaction rolls back) when a
    value does not open under the old key."""
    counts = {"totp_secrets": 0, "signing_keys": 0}
    old = Sealer(old_key, TOTP_SEALING_PURPOSE)
    new = Sealer(new_key, TOTP_SEALING_PURPOSE)
    for user_id, sealed in await two_factor_repository.sealed_secrets(conn):
        secret = old.unseal(sealed, user_id.bytes)
        await two_factor_repository.replace_sealed_secret(
            conn, user_id, new.seal(secret, user_id.bytes)
        )
        counts["totp_secrets"] += 1
    old_keys = Sealer(old_key, SIGNING_KEYS_PURPOSE)
    new_keys = Sealer(new_key, SIGNING_KEYS_PURPOSE)
    for kid, sealed in await sessions_repository.lock_sealed_private_keys(conn):
        raw = old_keys.unseal(sealed, kid.encode())
        await sessions_repository.replace_sealed_private_key(
            conn, kid, new_keys.seal(raw, kid.encode())
        )
        counts["signing_keys"] += 1
    return counts
