"""Opaque keyset cursors for the notification list.

A cursor carries the (created_at, id) of the last item of a page and a MAC over it, the user
and the filter (scope) it was issued for, under a key derived from CLOCHETTE_SECRET_KEY: a
client can neither forge a position nor replay another user's cursor or another filter's.
(The query is scoped to the token's user anyway; the MAC turns tampering into a clear 422
instead of a silently odd page.)
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

from shared.problems import FieldError, InvalidRequest

_VERSION: Final = 1
_PAYLOAD = struct.Struct(">Bq16s")  # version, microseconds since the epoch, notification id
_MAC_BYTES: Final = 16
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CURSOR_LENGTH: Final = 128


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
        self._key = hmac.new(
            secret_key.encode(), b"clochette/notifier/page-cursor/v1", hashlib.sha256
        ).digest()

    def encode(self, user_id: UUID, position: PagePosition, *, scope: str = "") -> str:
        """`scope` names the filter of the list: the cursor is valid for that filter only."""
        micros = (position.created_at - _EPOCH) // timedelta(microseconds=1)
        payload = _PAYLOAD.pack(_VERSION, micros, position.id.bytes)
        token = payload + self._mac(user_id, payload, scope)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def decode(self, user_id: UUID, cursor: str, *, scope: str = "") -> PagePosition:
        """The position a cursor names; raises InvalidCursor for anything not issued to user_id
        for the same scope (filter)."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise InvalidCursor() from None
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if len(payload) != _PAYLOAD.size or not hmac.compare_digest(
            mac, self._mac(user_id, payload, scope)
        ):
            raise InvalidCursor()
        version, micros, id_bytes = _PAYLOAD.unpack(payload)
        if version != _VERSION:
            raise InvalidCursor()
        try:
            created_at = _EPOCH + timedelta(microseconds=micros)
        except OverflowError:
            raise InvalidCursor() from None
        return PagePosition(created_at=created_at, id=UUID(bytes=id_bytes))

    def _mac(self, user_id: UUID, payload: bytes, scope: str) -> bytes:
        message = user_id.bytes + payload + scope.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]
