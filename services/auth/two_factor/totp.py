"""TOTP (RFC 6238) as the authenticator apps speak it: SHA-1, 6 digits, 30-second steps, a
160-bit secret, and ±1 step of tolerance for clock drift. The RFC 4226/6238 arithmetic and
the otpauth:// URI are pyotp's.

pyotp's `verify()` accepts the same code again and again; here a code is matched to its time
step, and the caller stores the last accepted step and only ever moves it forward, so a code is
never accepted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pyotp
import segno

DIGITS: Final = 6
PERIOD_SECONDS: Final = 30
DRIFT_STEPS: Final = 1
SECRET_BASE32_CHARACTERS: Final = 32  # 160 bits, RFC 4226's recommendation


def new_secret() -> str:
    """A random 160-bit secret, base32 without padding (what the apps expect)."""
    return pyotp.random_base32(SECRET_BASE32_CHARACTERS)


def _totp(secret: str, digits: int = DIGITS) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, digest=hashlib.sha1, interval=PERIOD_SECONDS)


def time_step(at: datetime) -> int:
    """The RFC 6238 counter for a moment: what pyotp's `timecode` computes."""
    return int(at.timestamp()) // PERIOD_SECONDS


def code_for_step(secret: str, step: int, digits: int = DIGITS) -> str:
    """HOTP (RFC 4226) of the step's counter: the code an app shows during that step."""
    return _totp(secret, digits).generate_otp(step)


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
    """`otpauth://totp/Issuer:account?secret=…&issuer=…` (Google Authenticator key format), as
    pyotp writes it: SHA-1, 6 digits and 30 seconds are the format's defaults, so it leaves them
    out."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


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
