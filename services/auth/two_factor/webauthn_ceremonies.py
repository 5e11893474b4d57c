"""The WebAuthn side of passkeys, through py_webauthn: options for the browser, reading its
responses (a response that cannot be read is a 422), and verifying them against the relying
party and the challenge. No database here: passkeys.py and the login's passkey step decide what
is stored."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from services.auth.domain import User
from services.auth.platform.webauthn_config import RelyingParty
from services.auth.two_factor.errors import MalformedPasskeyResponse, PasskeyVerificationFailed
from services.auth.two_factor.passkey_repository import Passkey

CHALLENGE_BYTES = 32
TIMEOUT_MS = 300_000


@dataclass(frozen=True)
class NewCredential:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: uuid.UUID | None


def _descriptors(passkeys: Sequence[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value: t for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=p.credential_id, transports=[known[t] for t in p.transports if t in known] or None
        )
        for p in passkeys
    ]


def registration_options(
    rp: RelyingParty, user: User, challenge: bytes, existing: Sequence[Passkey]
) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptions (JSON) for a second-factor passkey of the user."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user.id.bytes,
        user_name=user.email,
        user_display_name=user.email,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    loaded: dict[str, Any] = json.loads(options_to_json(options))
    return loaded


def authentication_options(
    rp: RelyingParty, challenge: bytes, passkeys: Sequence[Passkey]
) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptions (JSON) allowing the user's passkeys only."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(passkeys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    loaded: dict[str, Any] = json.loads(options_to_json(options))
    return loaded


def read_registration(credential: dict[str, Any]) -> tuple[RegistrationCredential, bytes]:
    """The parsed registration response and the challenge its client data answers."""
    try:
        parsed = parse_registration_credential_json(credential)
        challenge = parse_client_data_json(parsed.response.client_data_json).challenge
    except Exception:  # any failure to read the browser JSON is the same 422
        raise MalformedPasskeyResponse("credential") from None
    return parsed, challenge


def read_assertion(credential: dict[str, Any]) -> tuple[AuthenticationCredential, bytes]:
    """The parsed assertion and the challenge its client data answers."""
    try:
        parsed = parse_authentication_credential_json(credential)
        challenge = parse_client_data_json(parsed.response.client_data_json).challenge
    except Exception:  # any failure to read the browser JSON is the same 422
        raise MalformedPasskeyResponse("passkey") from None
    return parsed, challenge


def verify_registration(
    rp: RelyingParty, credential: RegistrationCredential, challenge: bytes
) -> NewCredential:
    """Checks type, challenge, origin, RP id hash, user presence and the attestation
    statement ("none" or a valid one); user verification is welcome, not required."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_presence=True,
            require_user_verification=False,
        )
    except WebAuthnException as exc:
        raise PasskeyVerificationFailed(f"The passkey could not be registered: {exc}") from None
    transports = [t.value for t in credential.response.transports or []]
    try:
        aaguid = uuid.UUID(verified.aaguid)
    except ValueError:
        aaguid = None
    return NewCredential(
        verified.credential_id,
        verified.credential_public_key,
        verified.sign_count,
        transports,
        aaguid,
    )


def verify_assertion(
    rp: RelyingParty, credential: AuthenticationCredential, challenge: bytes, passkey: Passkey
) -> int | None:
    """The authenticator's new signature counter when the assertion verifies (challenge,
    origin, RP id hash, user presence, signature), None otherwise. The counter itself is judged
    by the caller (py_webauthn gets 0 so that a clone shows as a valid signature with a counter
    that went backwards, which is audited as such)."""
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=False,
        )
    except WebAuthnException:
        return None
    return verified.new_sign_count


def counter_regressed(stored: int, new: int) -> bool:
    """Both counters in use and the new one not past the stored one: a possible clone."""
    return stored > 0 and new > 0 and new <= stored
