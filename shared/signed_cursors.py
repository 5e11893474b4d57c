"""Signed opaque keyset cursors, shared by the paged lists of both services.

A cursor is `payload || MAC`, base64url without padding. The MAC (HMAC-SHA256 truncated to 16
bytes) covers the user id, the payload and an optional scope (e.g. the list's filter), under a
key of the caller's own purpose: a client can neither forge a position nor replay a cursor
issued to another user or another scope. Each list keeps its own payload layout and its own
problem for a bad cursor (the `invalid` factory).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

MAX_CURSOR_LENGTH: Final = 128
MAC_BYTES: Final = 16
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, as packed in a cursor."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_epoch_micros(micros: int) -> datetime:
    """The inverse of epoch_micros; OverflowError when out of datetime's range."""
    return _EPOCH + timedelta(microseconds=micros)


class SignedCursorCodec:
    """Signs payloads into cursors and checks cursors back into payloads.

    `payload_size`, when given, is the exact size of every payload: any other size is invalid.
    Without it the caller checks the payload's size itself.
    """

    def __init__(
        self, key: bytes, *, invalid: Callable[[], Exception], payload_size: int | None = None
    ) -> None:
        self._key = key
        self._invalid = invalid
        self._payload_size = payload_size

    def sign(self, user_id: UUID, payload: bytes, *, scope: str = "") -> str:
        token = payload + self._mac(user_id, payload, scope)
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")

    def open(self, user_id: UUID, cursor: str, *, scope: str = "") -> bytes:
        """The payload of a cursor issued to user_id for scope; raises `invalid()` otherwise."""
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise self._invalid()
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise self._invalid() from None
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if self._payload_size is not None and len(payload) != self._payload_size:
            raise self._invalid()
        if not hmac.compare_digest(mac, self._mac(user_id, payload, scope)):
            raise self._invalid()
        return payload

    def _mac(self, user_id: UUID, payload: bytes, scope: str) -> bytes:
        message = user_id.bytes + payload + scope.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]
