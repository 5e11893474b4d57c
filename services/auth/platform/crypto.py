"""Secrets at rest: AES-256-GCM under keys derived (HKDF-SHA256) from CLOCHETTE_SECRET_KEY.

Each purpose (signing keys now, TOTP secrets later) derives its own key, so one leaked derived
key opens nothing else. The caller's associated data (a kid, a user id) binds a sealed value to
its row: a ciphertext copied to another row does not open.
"""

from __future__ import annotations

import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION: Final = b"\x01"
_NONCE_BYTES: Final = 12
_SALT: Final = b"clochette/auth"


class CannotUnseal(Exception):
    """The value was sealed under another secret key, or was altered."""


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose (HKDF-SHA256 of CLOCHETTE_SECRET_KEY)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose.encode()).derive(
        secret_key.encode()
    )


class Sealer:
    """Seals and opens small secrets for one purpose."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._aead = AESGCM(derive_key(secret_key, purpose))

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """version byte ‖ 96-bit random nonce ‖ ciphertext with its tag."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated_data)

    def unseal(self, sealed: bytes, associated_data: bytes) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise CannotUnseal("not a sealed value of a known version")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, associated_data)
        except InvalidTag:
            raise CannotUnseal("wrong secret key, wrong associated data, or altered") from None
