"""Opaque keyset cursors of the security history.

A cursor carries the (occurred_at, id) of the last entry of a page and a MAC over it and the user
it was issued to, under a key derived from CLOCHETTE_SECRET_KEY: a client can neither forge a
position nor use another user's cursor. (The query is scoped to the caller anyway; the MAC turns
tampering into a clear 422 instead of a silently odd page.)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from services.auth.self_service.errors import InvalidCursor
from shared.signed_cursors import (
    MAX_CURSOR_LENGTH,
    SignedCursorCodec,
    epoch_micros,
    from_epoch_micros,
)

__all__ = ["CURSOR_PURPOSE", "MAX_CURSOR_LENGTH", "HistoryCursors", "HistoryPosition"]

CURSOR_PURPOSE: Final = "security-history-cursor"
"""The HKDF purpose of the cursors' MAC key."""

_VERSION: Final = 1
_PAYLOAD = struct.Struct(">Bqq")  # version, microseconds since the epoch, audit entry id


@dataclass(frozen=True)
class HistoryPosition:
    """Where a newest-first page ended: the next page starts strictly after this entry."""

    occurred_at: datetime
    id: int


class HistoryCursors:
    """Signs and checks the security history's page cursors."""

    def __init__(self, key: bytes) -> None:
        self._signed = SignedCursorCodec(key, invalid=InvalidCursor, payload_size=_PAYLOAD.size)

    def encode(self, user_id: UUID, position: HistoryPosition) -> str:
        payload = _PAYLOAD.pack(_VERSION, epoch_micros(position.occurred_at), position.id)
        return self._signed.sign(user_id, payload)

    def decode(self, user_id: UUID, cursor: str) -> HistoryPosition:
        """The position a cursor names; InvalidCursor for anything not issued to user_id."""
        payload = self._signed.open(user_id, cursor)
        version, micros, entry_id = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise InvalidCursor()
        try:
            occurred_at = from_epoch_micros(micros)
        except OverflowError:
            raise InvalidCursor() from None
        return HistoryPosition(occurred_at, entry_id)
