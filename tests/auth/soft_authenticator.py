"""A software WebAuthn authenticator and client, written from the specification (not with the
library under test): an ES256 (P-256) key, clientDataJSON, authenticatorData (rpIdHash, flags,
signCount, attested credential data with the COSE key in CBOR), "none" attestation, and
assertions signed over authenticatorData || SHA-256(clientDataJSON). Tests can play a browser
on another origin, an authenticator of another RP id, or a cloned authenticator."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_AT = 0x40
COSE_ES256 = -7


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


@dataclass
class SoftAuthenticator:
    """One credential (created on the first `register`), the origin its browser reports."""

    origin: str
    sign_count: int = 0
    counter_step: int = 1
    """0 models an authenticator without a counter (always 0)."""
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    aaguid: bytes = bytes(16)

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: COSE_ES256,  # alg
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def register(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = FLAG_UP | FLAG_UV | FLAG_AT,
    ) -> dict[str, Any]:
        """The browser's answer to navigator.credentials.create(options), as JSON."""
        excluded = {c["id"] for c in options.get("excludeCredentials", [])}
        assert b64url(self.credential_id) not in excluded, "the browser would refuse"
        assert {"type": "public-key", "alg": COSE_ES256} in options["pubKeyCredParams"]
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = (
            self.aaguid
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self.cose_public_key()
        )
        auth_data = (
            _sha256((rp_id or options["rp"]["id"]).encode())
            + bytes([flags])
            + self.sign_count.to_bytes(4, "big")
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def assertion(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        flags: int = FLAG_UP | FLAG_UV,
    ) -> dict[str, Any]:
        """The browser's answer to navigator.credentials.get(options), as JSON; the counter
        moves on by `counter_step` unless `sign_count` is given."""
        if sign_count is None:
            self.sign_count += self.counter_step
            sign_count = self.sign_count
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            _sha256((rp_id or options["rpId"]).encode())
            + bytes([flags])
            + sign_count.to_bytes(4, "big")
        )
        signature = self.key.sign(auth_data + _sha256(client_data), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }

    def allowed_by(self, options: dict[str, Any]) -> bool:
        return b64url(self.credential_id) in {c["id"] for c in options["allowCredentials"]}
