"""The auth service's vocabulary: users, organisations, sessions and where a request comes from
(who is calling is shared.tokens.Principal).

Plain dataclasses; the repositories return them and the use cases pass them around.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Final, get_args
from uuid import UUID

from shared.events.user_events import Language, Role

# Language and Role are the contract's, re-exported as part of the auth vocabulary.
__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "MAX_EMAIL_LENGTH",
    "ROLES",
    "ClientInfo",
    "Language",
    "Organization",
    "Role",
    "Session",
    "User",
    "as_language",
    "as_role",
    "is_valid_email",
    "normalize_email",
    "normalize_password",
]

LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
ROLES: Final[tuple[Role, ...]] = get_args(Role)
DEFAULT_LANGUAGE: Final[Language] = "en"

MAX_EMAIL_LENGTH: Final = 320
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """The form an address is stored and compared in: NFKC, trimmed, lower-case."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def is_valid_email(normalized: str) -> bool:
    return len(normalized) <= MAX_EMAIL_LENGTH and _EMAIL.match(normalized) is not None


def normalize_password(password: str) -> str:
    """NIST 800-63B 5.1.1.2: normalise Unicode (NFKC) before hashing, so the same password typed
    on two keyboards that compose characters differently is the same password."""
    return unicodedata.normalize("NFKC", password)


def as_language(value: str) -> Language:
    for language in LANGUAGES:
        if value == language:
            return language
    raise ValueError(f"not a display language: {value!r}")


def as_role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise ValueError(f"not a role: {value!r}")


@dataclass(frozen=True)
class Organization:
    id: UUID
    name: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    id: UUID
    organization_id: UUID
    organization_name: str
    email: str
    role: Role
    language: Language
    active: bool
    password_hash: str
    password_score: int | None
    password_changed_at: datetime
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class Session:
    """A refresh token family: one login, refreshed many times."""

    id: UUID
    user_id: UUID
    amr: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ClientInfo:
    """Where a request comes from, for throttling and the audit trail."""

    address: str
    user_agent: str | None = None
