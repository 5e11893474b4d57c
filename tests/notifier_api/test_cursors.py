"""Page cursors: opaque, bound to their user, impossible to forge."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.api.cursors import CursorCodec, InvalidCursor, PagePosition

CODEC = CursorCodec("k" * 48)
ALICE, BOB = uuid.uuid4(), uuid.uuid4()

positions = st.builds(
    PagePosition,
    # Hypothesis takes naive bounds and attaches the time zone itself.
    created_at=st.datetimes(
        min_value=datetime(1971, 1, 1),  # noqa: DTZ001
        max_value=datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    id=st.uuids(),
)


@given(positions)
def test_a_cursor_gives_back_its_position(position: PagePosition) -> None:
    assert CODEC.decode(ALICE, CODEC.encode(ALICE, position)) == position


@given(positions)
def test_a_cursor_is_refused_to_another_user(position: PagePosition) -> None:
    with pytest.raises(InvalidCursor):
        CODEC.decode(BOB, CODEC.encode(ALICE, position))


@given(positions, st.data())
def test_any_changed_byte_makes_the_cursor_invalid(
    position: PagePosition, data: st.DataObject
) -> None:
    raw = bytearray(base64.urlsafe_b64decode(CODEC.encode(ALICE, position) + "=="))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        CODEC.decode(ALICE, forged)


def test_a_cursor_signed_under_another_secret_is_refused() -> None:
    position = PagePosition(datetime(2026, 11, 28, tzinfo=UTC), uuid.uuid4())
    with pytest.raises(InvalidCursor):
        CursorCodec("another secret " * 4).decode(ALICE, CODEC.encode(ALICE, position))


@given(st.text(max_size=200))
def test_arbitrary_text_is_never_accepted(text: str) -> None:
    with pytest.raises(InvalidCursor):
        CODEC.decode(ALICE, text)


def test_a_cursor_is_short_and_url_safe() -> None:
    cursor = CODEC.encode(ALICE, PagePosition(datetime.now(UTC), uuid.uuid4()))
    assert len(cursor) <= 64
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
