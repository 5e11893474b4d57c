"""Recovery codes: ten single-use codes shown once at activation, stored only as digests.

Each code is 12 characters of a 32-symbol alphabet without look-alikes (60 bits), shown as
`7KQ2-M9XH-4TPA`. With that much entropy a fast digest (SHA-256) is enough: there is nothing to
brute-force offline.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final

ALPHABET: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
CODE_LENGTH: Final = 12
COUNT: Final = 10
BITS_PER_CODE: Final = CODE_LENGTH * 5


def new_codes(count: int = COUNT) -> list[str]:
    """Fresh codes for display, formatted like `7KQ2-M9XH-4TPA`."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4)))
    return codes


def normalize(code: str) -> str | None:
    """What the user typed, without spaces, dashes or case; None when it cannot be a code."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -")
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def digest(code: str) -> bytes:
    """The stored form of a code (normalised first)."""
    normalized = normalize(code)
    if normalized is None:
        raise ValueError("not a recovery code")
    return hashlib.sha256(normalized.encode()).digest()


def looks_like_recovery_code(code: str) -> bool:
    return normalize(code) is not None
