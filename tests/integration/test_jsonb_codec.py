"""The pool's jsonb codec: values read back are exactly what json.loads makes of PostgreSQL's
own text of them (the fast decoder must not change a single value)."""

from __future__ import annotations

import json

import pytest

from shared.db import RawJson, _decode_jsonb, create_pool

pytestmark = pytest.mark.db

TEXTS = [
    '{"invoice_id": "inv-1", "amount": {"amount": "1234.56", "currency": "EUR"}, "level": 2}',
    '{"n": 123456789012345678901234567890, "neg": -99999999999999999999,'
    ' "u64": 18446744073709551616}',
    '{"f": 0.1, "g": 1.5e-300, "h": 1e300, "i": -0.0, "j": 12345678901234567890.123456789}',
    '{"s": "caf\\u00e9 \\ud83d\\ude00 \\"quoted\\" \\\\ back\\nline \\t tab", "e": ""}',
    '{"nested": [[[{"a": null, "b": true, "c": false}]]], "empty": {}, "list": []}',
    '[1, "two", 3.0, null]',
    '"just a string"',
    "42",
    "1e400",
]


async def test_jsonb_values_read_back_as_json_loads_reads_their_text(database_url: str) -> None:
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            for text in TEXTS:
                row = await conn.fetchrow("SELECT $1::jsonb AS value", RawJson(text))
                as_text = await conn.fetchval("SELECT $1::jsonb::text", RawJson(text))
                assert row is not None
                assert row["value"] == json.loads(as_text), text
                assert type(row["value"]) is type(json.loads(as_text)), text
    finally:
        await pool.close()


def test_a_number_the_fast_decoder_refuses_is_still_decoded() -> None:
    assert _decode_jsonb(b"\x011e400") == float("inf")
    assert _decode_jsonb(b'\x01{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
