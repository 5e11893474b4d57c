"""What a production secret key must be: not a default or a placeholder, long enough, not one
pattern, and with enough estimated entropy. Settings refuse a key that fails (production only)."""

from __future__ import annotations

import math
import re
from collections import Counter

# Values that must never be accepted as a production secret.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "development", "clochette", "insecure"}
)
# Words of placeholders ("CHANGE_ME_to_48_random_characters", "<your-secret-here>", …), compared
# with the value lower-cased and stripped of everything but letters and digits.
PLACEHOLDER_WORDS = (
    "changeme",
    "replaceme",
    "placeholder",
    "example",
    "randomcharacters",
    "yoursecret",
    "secrethere",
    "fillmein",
    "insecure",
)
MIN_SECRET_LENGTH = 32
# The estimate below is the value's own letter frequencies (Shannon entropy per character) times
# its length. It underestimates a short random key: a 32-character hex key of 128 real bits
# scores 116 on average and 94 at worst over 100,000 draws. So the bar sits at 80, below any
# generated key: what it refuses is a key made of few symbols or one pattern, which a person
# typed rather than a generator drew.
MIN_SECRET_ENTROPY_BITS = 80
# A 32-character hex key has fewer than 10 distinct characters about once in 10,000 draws, and
# fewer than 8 not once in a million.
MIN_SECRET_DISTINCT_CHARACTERS = 8
GENERATE_KEY_ADVICE = (
    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
)


def secret_weakness(secret: str) -> str | None:
    """Why `secret` is not a production key (None when it may be one): a known default or a
    placeholder, too short, a repeated pattern, or too few distinct characters or bits."""
    letters = re.sub(r"[^a-z0-9]", "", secret.lower())
    if secret.strip().lower() in KNOWN_DEFAULT_SECRETS or any(
        word in letters for word in PLACEHOLDER_WORDS
    ):
        return "is a default or a placeholder"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is too short (at least {MIN_SECRET_LENGTH} random characters)"
    if _repeats_a_pattern(secret):
        return "repeats one pattern"
    if len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_SECRET_DISTINCT_CHARACTERS} distinct characters"
    if estimated_entropy_bits(secret) < MIN_SECRET_ENTROPY_BITS:
        return f"has less than an estimated {MIN_SECRET_ENTROPY_BITS} bits of entropy"
    return None


def estimated_entropy_bits(value: str) -> float:
    """Shannon entropy of the value's own character frequencies, times its length."""
    counts = Counter(value)
    total = len(value)
    per_character = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_character * total


def _repeats_a_pattern(value: str) -> bool:
    """True when the value is a shorter string repeated (`abcabcabc…`, `k` * 40)."""
    return any(
        value == (value[:period] * (len(value) // period + 1))[: len(value)]
        for period in range(1, len(value) // 2 + 1)
    )
