"""SQL of passkeys and their WebAuthn challenges (migration 0007). The per-user count of
passkeys on `two_factor` changes in the same statement sequence (same transaction) as the rows
it counts; the caller holds the user's `two_factor` row lock."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from services.auth.platform.sql import Connection, row_count

Purpose = Literal["registration", "authentication"]


@dataclass(frozen=True)
class Passkey:
    id: UUID
    user_id: UUID
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class StoredChallenge:
    user_id: UUID
    purpose: str
    mfa_token_hash: bytes | None
    expires_at: datetime


_COLUMNS = """id, user_id, credential_id, public_key, sign_count, transports, name, created_at,
    last_used_at"""


def challenge_digest(challenge: bytes) -> bytes:
    return hashlib.sha256(challenge).digest()


async def passkeys_of(conn: Connection, user_id: UUID) -> list[Passkey]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", user_id
    )
    return [Passkey(**dict(r)) for r in rows]


async def lock_passkey(conn: Connection, user_id: UUID, passkey_id: UUID) -> Passkey | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM passkeys WHERE id = $1 AND user_id = $2 FOR UPDATE",
        passkey_id,
        user_id,
    )
    return Passkey(**dict(row)) if row else None


async def lock_by_credential(conn: Connection, credential_id: bytes) -> Passkey | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM passkeys WHERE credential_id = $1 FOR UPDATE", credential_id
    )
    return Passkey(**dict(row)) if row else None


async def insert_passkey(
    conn: Connection,
    *,
    user_id: UUID,
    credential_id: bytes,
    public_key: bytes,
    sign_count: int,
    transports: Sequence[str],
    aaguid: UUID | None,
    name: str,
    now: datetime,
) -> Passkey:
    row = await conn.fetchrow(
        f"""INSERT INTO passkeys (id, user_id, credential_id, public_key, sign_count, transports,
                                  aaguid, name, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING {_COLUMNS}""",
        uuid.uuid4(),
        user_id,
        credential_id,
        public_key,
        sign_count,
        list(transports),
        aaguid,
        name,
        now,
    )
    await conn.execute(
        "UPDATE two_factor SET passkeys = passkeys + 1, updated_at = $2 WHERE user_id = $1",
        user_id,
        now,
    )
    if row is None:  # pragma: no cover - INSERT … RETURNING returns the row
        raise RuntimeError("passkey not inserted")
    return Passkey(**dict(row))


async def delete_passkey(conn: Connection, user_id: UUID, passkey_id: UUID, now: datetime) -> None:
    status = await conn.execute(
        "DELETE FROM passkeys WHERE id = $1 AND user_id = $2", passkey_id, user_id
    )
    await conn.execute(
        "UPDATE two_factor SET passkeys = passkeys - $2, updated_at = $3 WHERE user_id = $1",
        user_id,
        row_count(status),
        now,
    )


async def record_use(conn: Connection, passkey_id: UUID, sign_count: int, now: datetime) -> None:
    """The new signature counter (never backwards) and the time of use."""
    await conn.execute(
        """UPDATE passkeys SET sign_count = GREATEST(sign_count, $2), last_used_at = $3
           WHERE id = $1""",
        passkey_id,
        sign_count,
        now,
    )


async def insert_challenge(
    conn: Connection,
    *,
    challenge: bytes,
    user_id: UUID,
    purpose: Purpose,
    mfa_token_hash: bytes | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO webauthn_challenges (challenge_hash, user_id, purpose, mfa_token_hash,
                                            created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        challenge_digest(challenge),
        user_id,
        purpose,
        mfa_token_hash,
        now,
        expires_at,
    )


async def lock_challenge(
    conn: Connection, challenge: bytes, user_id: UUID, purpose: Purpose
) -> StoredChallenge | None:
    """The challenge of this user and ceremony, locked: of two responses to one challenge,
    the second waits for the first and then finds it gone."""
    row = await conn.fetchrow(
        """SELECT user_id, purpose, mfa_token_hash, expires_at FROM webauthn_challenges
           WHERE challenge_hash = $1 AND user_id = $2 AND purpose = $3 FOR UPDATE""",
        challenge_digest(challenge),
        user_id,
        purpose,
    )
    return StoredChallenge(**dict(row)) if row else None


async def consume_challenge(conn: Connection, challenge: bytes) -> bool:
    status = await conn.execute(
        "DELETE FROM webauthn_challenges WHERE challenge_hash = $1", challenge_digest(challenge)
    )
    return row_count(status) == 1
