"""Opaque keyset cursors of the security history.

A cursor carries the (occurred_at, id) of the last entry of a page and a MAC over it and the user
it was issued to, under a key derived from CLOCHETTE_SECRET_KEY: a client can neither forge a
position nor use another user's cursor. (The query is scoped to the caller anyway; the MAC turns
tampering into a clear 422 instead of a silently odd page.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from services.auth.self_service.errors import InvalidCursor

CURSOR_PURPOSE: Final = "security-history-cursor"
"""The HKDF purpose of the cursors' MAC key."""
MAX_CURSOR_LENGTH: Final = 128

_VERSION: Final = 1
_PAYLOAD = struct.Struct(">Bqq")  # version, microseconds since the epoch, audit entry id
_MAC_BYTES: Final = 16
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class HistoryPosition:
    """Where a newest-first page ended: the next page starts strictly after this entry."""

    occurred_at: datetime
    id: int


class HistoryCursors:
    """Signs and checks the security history's page cursors."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, user_id: UUID, position: HistoryPosition) -> str:
        micros = (position.occurred_at - _EPOCH) // timedelta(microseconds=1)
        payload = _PAYLOAD.pack(_VERSION, micros, position.id)
        token = payload + self._mac(user_id, payload)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def decode(self, user_id: UUID, cursor: str) -> HistoryPosition:
        """The position a cursor names; InvalidCursor for anything not issued to user_id."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidCursor() from None
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if len(payload) != _PAYLOAD.size or not hmac.compare_digest(
            mac, self._mac(user_id, payload)
        ):
            raise InvalidCursor()
        version, micros, entry_id = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise InvalidCursor()
        try:
            occurred_at = _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise InvalidCursor() from None
        return HistoryPosition(occurred_at, entry_id)

    def _mac(self, user_id: UUID, payload: bytes) -> bytes:
        return hmac.new(self._key, user_id.bytes + payload, hashlib.sha256).digest()[:_MAC_BYTES]
