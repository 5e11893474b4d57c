"""Ed25519 signing keys: stored in PostgreSQL, private halves sealed with AES-GCM, rotatable.

Why the database and not files: every instance of the auth service must sign with the same key
and publish the same JWKS; the database is the one thing they already share, and a rotation by
`clochette keys rotate` reaches all of them without copying files between hosts. The private key
is sealed under a key derived from CLOCHETTE_SECRET_KEY, so a database dump alone signs nothing.

Rotation publishes the new public key first and signs with it only `publish_ahead` later, so
verifiers that cache the JWKS know it before they meet it. A superseded key stays published until
every token it may have signed has expired; its private half is wiped from the database.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from services.auth.platform.crypto import CannotUnseal, Sealer
from services.auth.platform.sql import Connection
from services.auth.sessions import repository
from shared.clock import Clock
from shared.db import UnitOfWork, classify_database_error
from shared.logging import get_logger
from shared.tokens import ALGORITHM

log = get_logger(__name__)

SEALING_PURPOSE = "signing-keys/v1"
_MIN_RELOAD_GAP = timedelta(seconds=5)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def thumbprint(public_key: bytes) -> str:
    """RFC 7638 JWK thumbprint: the kid is derived from the key, never chosen."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": b64url(public_key)}, separators=(",", ":")
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None
    activates_at: datetime

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(raw_public_bytes(self.public_key)),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


class KeyRing:
    """Which key signs and which keys are published, at a given time."""

    def __init__(self, keys: list[SigningKey], keep_published: timedelta) -> None:
        self._keys = sorted(keys, key=lambda k: k.activates_at)
        self._starts = [k.activates_at for k in self._keys]
        self._keep_published = keep_published

    def signing_key(self, now: datetime) -> SigningKey | None:
        """The most recently activated key, if this instance can sign with it."""
        index = bisect_right(self._starts, now) - 1
        if index < 0 or self._keys[index].private_key is None:
            return None
        return self._keys[index]

    def published(self, now: datetime) -> list[SigningKey]:
        """Keys verifiers must know: upcoming, current, and superseded ones whose tokens may
        still be valid."""
        keys = []
        for index, key in enumerate(self._keys):
            superseded_at = self._starts[index + 1] if index + 1 < len(self._keys) else None
            if (
                superseded_at is None
                or superseded_at > now
                or now < superseded_at + self._keep_published
            ):
                keys.append(key)
        return keys

    def verification_key(self, kid: str, now: datetime) -> Ed25519PublicKey | None:
        for key in self.published(now):
            if key.kid == kid:
                return key.public_key
        return None

    def jwks(self, now: datetime) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in reversed(self.published(now))]}


def _new_key_row(sealer: Sealer, activates_at: datetime, now: datetime) -> repository.KeyRow:
    private = Ed25519PrivateKey.generate()
    public = raw_public_bytes(private.public_key())
    kid = thumbprint(public)
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return repository.KeyRow(
        kid=kid,
        public_key=public,
        sealed_private_key=sealer.seal(raw_private, kid.encode()),
        created_at=now,
        activates_at=activates_at,
    )


def _unsealed(row: repository.KeyRow, sealer: Sealer) -> SigningKey:
    private: Ed25519PrivateKey | None = None
    if row.sealed_private_key is not None:
        try:
            raw = sealer.unseal(row.sealed_private_key, row.kid.encode())
        except CannotUnseal:
            log.error(  # noqa: TRY400 - the cause is known and said; a traceback adds nothing
                "signing_key_cannot_be_unsealed",
                kid=row.kid,
                hint="CLOCHETTE_SECRET_KEY changed since the key was created",
            )
        else:
            private = Ed25519PrivateKey.from_private_bytes(raw)
    return SigningKey(
        kid=row.kid,
        public_key=Ed25519PublicKey.from_public_bytes(row.public_key),
        private_key=private,
        activates_at=row.activates_at,
    )


async def rotate_signing_key(
    uow: UnitOfWork, sealer: Sealer, now: datetime, publish_ahead: timedelta
) -> repository.KeyRow:
    """Create the next signing key, published now and signing from `now + publish_ahead`."""

    async def insert_next_key(conn: Connection) -> repository.KeyRow:
        await repository.lock_signing_keys(conn)
        latest = await repository.latest_key_activation(conn)
        activates_at = now + publish_ahead
        if latest is not None and activates_at <= latest:
            activates_at = latest + timedelta(microseconds=1)
        row = _new_key_row(sealer, activates_at, now)
        await repository.insert_signing_key(conn, row)
        return row

    row = await uow.run(insert_next_key)
    log.info("signing_key_created", kid=row.kid, activates_at=row.activates_at.isoformat())
    return row


class SigningKeys:
    """This instance's view of the signing keys, reloaded periodically and on an unknown kid."""

    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        sealer: Sealer,
        clock: Clock,
        *,
        token_lifetime: timedelta,
        reload_every: timedelta,
    ) -> None:
        self._uow = UnitOfWork(pool)
        self._sealer = sealer
        self._clock = clock
        self._reload_every = reload_every
        # An instance may sign with a superseded key until its next reload.
        self._keep_published = token_lifetime + reload_every
        self._ring = KeyRing([], self._keep_published)
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def ring(self) -> KeyRing:
        return self._ring

    async def load(self) -> None:
        """Read the keys; make a signing key when none is usable (first start, or a changed
        CLOCHETTE_SECRET_KEY that can no longer open the current one)."""
        async with self._lock:
            await self._read()
            now = self._clock.now()
            if self._ring.signing_key(now) is None:
                await self._uow.run(lambda conn: self._ensure_signing_key(conn, now))
                await self._read()

    async def reload_for_unknown_kid(self) -> None:
        """Pick up a rotation made elsewhere, at most every few seconds; keeps the keys it has
        when the database does not answer (the token is then refused, not the request failed)."""
        now = self._clock.now()
        if self._loaded_at is not None and now - self._loaded_at < _MIN_RELOAD_GAP:
            return
        self._loaded_at = now
        await self._reload_keeping_keys_on_outage()

    async def run_reloads(self) -> None:
        """Background task: reload the keys every `reload_every` until cancelled."""
        while True:
            await asyncio.sleep(self._reload_every.total_seconds())
            await self._reload_keeping_keys_on_outage()

    async def _reload_keeping_keys_on_outage(self) -> None:
        try:
            await self.load()
        except Exception as exc:
            if classify_database_error(exc) is None:
                raise  # a bug, not an outage
            log.warning("signing_keys_reload_failed", error_class=type(exc).__name__)

    async def _read(self) -> None:
        rows = await self._uow.read(repository.signing_keys)
        self._ring = KeyRing([_unsealed(r, self._sealer) for r in rows], self._keep_published)
        self._loaded_at = self._clock.now()

    async def _ensure_signing_key(self, conn: Connection, now: datetime) -> None:
        """Create a signing key unless another instance did meanwhile (run in a transaction)."""
        await repository.lock_signing_keys(conn)
        rows = await repository.signing_keys(conn)
        ring = KeyRing([_unsealed(r, self._sealer) for r in rows], self._keep_published)
        if ring.signing_key(now) is not None:
            return  # another instance made one while this one waited for the lock
        taken = {r.activates_at for r in rows}
        activates_at = now
        while activates_at in taken:
            activates_at += timedelta(microseconds=1)
        row = _new_key_row(self._sealer, activates_at, now)
        await repository.insert_signing_key(conn, row)
        log.info("signing_key_created", kid=row.kid, activates_at=row.activates_at.isoformat())
