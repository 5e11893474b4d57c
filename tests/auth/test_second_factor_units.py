"""The pieces of two-factor authentication, checked against independent references."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.auth.two_factor import phone_verification, recovery_codes, totp
from services.auth.two_factor.errors import InvalidPhoneNumber

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc6238_sha1_vectors(unix_time: int, eight_digits: str) -> None:
    step = unix_time // 30
    assert totp.code_for_step(RFC_SECRET, step, digits=8) == eight_digits
    assert totp.code_for_step(RFC_SECRET, step) == eight_digits[-6:]


def reference_totp(secret: str, at: datetime) -> str:
    """A separate, hand-written RFC 6238 implementation to check ours against."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int(at.timestamp()) // 30)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[19] & 15
    value = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


NOW = datetime(2026, 11, 28, 9, 15, 7, tzinfo=UTC)


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_codes_within_one_step_are_accepted(offset: int) -> None:
    secret = totp.new_secret()
    code = reference_totp(secret, NOW + timedelta(seconds=offset))
    assert totp.matching_step(secret, code, NOW) == totp.time_step(NOW) + offset // 30


@pytest.mark.parametrize("offset", [-60, 60, -90, 90])
def test_codes_two_steps_away_are_refused(offset: int) -> None:
    secret = totp.new_secret()
    code = reference_totp(secret, NOW + timedelta(seconds=offset))
    # A collision with a neighbouring step's code is possible (1 in 10^6); rule it out.
    neighbours = {reference_totp(secret, NOW + timedelta(seconds=s)) for s in (-30, 0, 30)}
    if code not in neighbours:
        assert totp.matching_step(secret, code, NOW) is None


def test_a_step_already_used_is_refused_and_later_steps_still_work() -> None:
    secret = totp.new_secret()
    step = totp.time_step(NOW)
    code = reference_totp(secret, NOW)
    assert totp.matching_step(secret, code, NOW, after_step=step - 1) == step
    assert totp.matching_step(secret, code, NOW, after_step=step) is None
    earlier = reference_totp(secret, NOW - timedelta(seconds=30))
    assert totp.matching_step(secret, earlier, NOW, after_step=step) is None
    later = reference_totp(secret, NOW + timedelta(seconds=30))
    assert totp.matching_step(secret, later, NOW, after_step=step) == step + 1


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "abcdef", "12 34 5x", "١٢٣٤٥٦"])
def test_malformed_codes_never_match(garbage: str) -> None:
    assert totp.matching_step(totp.new_secret(), garbage, NOW) is None


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))  # noqa: DTZ001
def test_our_codes_equal_the_reference_at_any_time(moment: datetime) -> None:
    at = moment.replace(tzinfo=UTC)
    step = totp.time_step(at)
    assert totp.code_for_step(RFC_SECRET, step) == reference_totp(RFC_SECRET, at)


def test_secret_has_160_bits_and_the_uri_is_what_apps_read() -> None:
    enrollment = totp.enrollment("jan@example.be", "Clochette")
    assert len(base64.b32decode(enrollment.secret + "=" * (-len(enrollment.secret) % 8))) == 20
    uri = urlsplit(enrollment.otpauth_uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == "/Clochette:jan@example.be"
    query = parse_qs(uri.query)
    assert query["secret"] == [enrollment.secret]
    assert query["issuer"] == ["Clochette"]
    # Read back as an app reads it: the key format's defaults are SHA-1, 6 digits, 30 seconds.
    read = pyotp.parse_uri(enrollment.otpauth_uri)
    assert isinstance(read, pyotp.TOTP)
    assert (read.secret, read.name, read.issuer) == (
        enrollment.secret,
        "jan@example.be",
        "Clochette",
    )
    assert (read.digest().name, read.digits, read.interval) == ("sha1", 6, 30)
    assert enrollment.qr_svg.startswith("<svg")
    assert enrollment.qr_svg.rstrip().endswith("</svg>")
    # standalone: an <img> data URL shows it, and it scales to its box
    assert 'xmlns="http://www.w3.org/2000/svg"' in enrollment.qr_svg
    size = re.search(r'width="(\d+)" height="(\d+)"', enrollment.qr_svg)
    assert size is not None
    assert f'viewBox="0 0 {size[1]} {size[2]}"' in enrollment.qr_svg


def test_recovery_codes_are_distinct_strong_and_normalised() -> None:
    codes = recovery_codes.new_codes()
    assert len(codes) == 10 == len(set(codes))
    assert recovery_codes.BITS_PER_CODE >= 50
    for code in codes:
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code)
        typed = code.lower().replace("-", " ")
        assert recovery_codes.digest(typed) == recovery_codes.digest(code)
    assert recovery_codes.normalize("0000-0000-0000") is None
    assert recovery_codes.normalize("123456") is None


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0470 12 34 56", "+32470123456"),
        ("+32 470 12 34 56", "+32470123456"),
        ("0032470123456", "+32470123456"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+31 6 12345678", "+31612345678"),
    ],
)
def test_mobile_numbers_become_e164(typed: str, e164: str) -> None:
    assert phone_verification.parse_mobile_number(typed) == e164


@pytest.mark.parametrize(
    "typed", ["", "hello", "0470", "02 123 45 67", "+32 470 12 34 56 78 90", "1" * 40]
)
def test_other_input_is_not_a_mobile_number(typed: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        phone_verification.parse_mobile_number(typed)
    assert refused.value.errors[0].field == "phone_number"


def test_sms_codes_are_six_digits_and_bound_to_user_and_number() -> None:
    codes = {phone_verification.new_code() for _ in range(200)}
    assert all(re.fullmatch(r"\d{6}", c) for c in codes)
    assert len(codes) > 150
    key = b"k" * 32
    base = phone_verification.code_digest(key, "u1", "+32470123456", "123456")
    assert base != phone_verification.code_digest(key, "u2", "+32470123456", "123456")
    assert base != phone_verification.code_digest(key, "u1", "+32470123457", "123456")
    assert base != phone_verification.code_digest(b"x" * 32, "u1", "+32470123456", "123456")


@pytest.mark.parametrize("language", ["nl", "fr", "en", "de"])
def test_sms_text_is_localized_and_carries_the_code(language: str) -> None:
    text = phone_verification.sms_text(language, "042917")
    assert "042917" in text
    assert "10" in text
    assert len({phone_verification.sms_text(lang, "1") for lang in ("nl", "fr", "en", "de")}) == 4
