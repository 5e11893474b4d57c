"""Opaque keyset cursors for the notification list.

A cursor carries the (created_at, id) of the last item of a page and a MAC over it, the user
and the filter (scope) it was issued for, under a key derived from CLOCHETTE_SECRET_KEY: a
client can neither forge a position nor replay another user's cursor or another filter's.
(The query is scoped to the token's user anyway; the MAC turns tampering into a clear 422
instead of a silently odd page.)
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID

from shared.problems import FieldError, InvalidRequest
from shared.signed_cursors import (
    MAX_CURSOR_LENGTH,
    SignedCursorCodec,
    epoch_micros,
    from_epoch_micros,
)

__all__ = ["MAX_CURSOR_LENGTH", "CursorCodec", "InvalidCursor", "PagePosition"]

_VERSION: Final = 1
_PAYLOAD = struct.Struct(">Bq16s")  # version, microseconds since the epoch, notification id


@dataclass(frozen=True)
class PagePosition:
    """Where a newest-first page ended: the next page starts strictly after this item."""

    created_at: datetime
    id: UUID


class InvalidCursor(InvalidRequest):
    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this service issued to you; start again without it.",
            errors=[FieldError("cursor", "not a valid cursor")],
        )


class CursorCodec:
    """Signs and checks page cursors."""

    def __init__(self, secret_key: str) -> None:
        # A key of its own, so a cursor MAC can never be confused with another use of the secret.
        key = hmac.new(
            secret_key.encode(), b"clochette/notifier/page-cursor/v1", hashlib.sha256
        ).digest()
        self._signed = SignedCursorCodec(key, invalid=InvalidCursor, payload_size=_PAYLOAD.size)

    def encode(self, user_id: UUID, position: PagePosition, *, scope: str = "") -> str:
        """`scope` names the filter of the list: the cursor is valid for that filter only."""
        payload = _PAYLOAD.pack(_VERSION, epoch_micros(position.created_at), position.id.bytes)
        return self._signed.sign(user_id, payload, scope=scope)

    def decode(self, user_id: UUID, cursor: str, *, scope: str = "") -> PagePosition:
        """The position a cursor names; raises InvalidCursor for anything not issued to user_id
        for the same scope (filter)."""
        payload = self._signed.open(user_id, cursor, scope=scope)
        version, micros, id_bytes = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise InvalidCursor()
        try:
            created_at = from_epoch_micros(micros)
        except OverflowError:
            raise InvalidCursor() from None
        return PagePosition(created_at=created_at, id=UUID(bytes=id_bytes))
