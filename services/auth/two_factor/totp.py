"""TOTP (RFC 6238) as the authenticator apps speak it: SHA-1, 6 digits, 30-second steps, a
160-bit secret, and ±1 step of tolerance for clock drift.

pyotp's `verify()` accepts the same code again and again; here a code is matched to its time
step, and the caller stores the last accepted step and only ever moves it forward, so a code is
never accepted twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote, urlencode

import segno

DIGITS: Final = 6
PERIOD_SECONDS: Final = 30
DRIFT_STEPS: Final = 1
SECRET_BYTES: Final = 20  # 160 bits, RFC 4226's recommendation


def new_secret() -> str:
    """A random 160-bit secret, base32 without padding (what the apps expect)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def time_step(at: datetime) -> int:
    """The RFC 6238 counter for a moment."""
    return int(at.timestamp()) // PERIOD_SECONDS


def code_for_step(secret: str, step: int, digits: int = DIGITS) -> str:
    """HOTP (RFC 4226) of the step's counter: the code an app shows during that step."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    binary = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def matching_step(
    secret: str, code: str, at: datetime, *, after_step: int | None = None
) -> int | None:
    """The time step (within ±1 of `at`) whose code this is, never one at or before
    `after_step` (the last step already accepted); None when the code does not match."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != DIGITS or not (candidate.isascii() and candidate.isdigit()):
        return None
    current = time_step(at)
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Compare against every step, in constant time, so timing says nothing about which.
        if hmac.compare_digest(code_for_step(secret, step), candidate) and found is None:
            found = step
    if found is None or (after_step is not None and found <= after_step):
        return None
    return found


@dataclass(frozen=True)
class Enrollment:
    """What the user's app needs: the otpauth URI and the same as a QR code (SVG)."""

    secret: str
    otpauth_uri: str
    qr_svg: str


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """`otpauth://totp/Issuer:account?secret=…&issuer=…` (Google Authenticator key format)."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def enrollment(account: str, issuer: str, secret: str | None = None) -> Enrollment:
    """A new secret with its URI and QR code, ready to show once."""
    secret = secret or new_secret()
    uri = provisioning_uri(secret, account, issuer)
    # A standalone SVG document (namespace and viewBox, no XML declaration): it renders inline in
    # HTML, scales to its box, and also works as an <img> data URL, which a strict
    # Content-Security-Policy prefers.
    qr = segno.make(uri, error="m")
    buffer = io.BytesIO()
    qr.save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
    )
    width, height = qr.symbol_size(scale=4, border=4)
    svg = buffer.getvalue().decode().replace("<svg ", f'<svg viewBox="0 0 {width} {height}" ', 1)
    return Enrollment(secret=secret, otpauth_uri=uri, qr_svg=svg)
