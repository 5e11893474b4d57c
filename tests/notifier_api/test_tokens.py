"""Access-token verification against the auth service's JWKS: only genuine, current EdDSA tokens
pass; rotated keys are picked up; a short auth outage is survived with cached keys."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from clochette.jwks_stub import JwksServer, SigningKey, mint
from services.notifier.api.tokens import (
    InvalidAccessToken,
    JwksClient,
    SigningKeysUnavailable,
    TokenVerifier,
)
from shared.clock import ManualClock
from shared.tokens import REQUIRED_CLAIMS


@pytest.fixture
async def verifier(jwks_server: JwksServer) -> AsyncIterator[TokenVerifier]:
    jwks = JwksClient(jwks_server.url)
    try:
        yield TokenVerifier(jwks)
    finally:
        await jwks.aclose()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    return f"{head}.{body}.{b64(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def test_a_genuine_token_names_its_user(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    user, org = uuid.uuid4(), uuid.uuid4()
    principal = await verifier.authenticate(f"Bearer {mint(signing_key, user, org=org, lang='fr')}")
    assert principal.user_id == user
    assert principal.organization_id == org
    assert principal.language == "fr"
    assert principal.role == "member"


async def test_alg_none_is_refused(verifier: TokenVerifier, signing_key: SigningKey) -> None:
    payload = claims_of(mint(signing_key, uuid.uuid4()))
    for alg in ("none", "None", "NONE"):
        with pytest.raises(InvalidAccessToken):
            await verifier.verify(unsigned({"alg": alg, "kid": signing_key.kid}, payload))


async def test_hs256_keyed_with_the_public_key_is_refused(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    """The classic algorithm-confusion attack: the public key used as an HMAC secret."""
    payload = claims_of(mint(signing_key, uuid.uuid4()))
    public_raw = signing_key.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    public_x = signing_key.jwk()["x"].encode()
    for secret in (public_raw, public_x):
        header = {"alg": "HS256", "kid": signing_key.kid, "typ": "JWT"}
        signing_input = (
            f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}".encode()
        )
        signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
        with pytest.raises(InvalidAccessToken):
            await verifier.verify(f"{signing_input.decode()}.{b64(signature)}")


async def test_other_asymmetric_algorithms_are_refused(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    payload = claims_of(mint(signing_key, uuid.uuid4()))
    es_key = generate_private_key(SECP256R1())
    token = jwt.encode(payload, es_key, algorithm="ES256", headers={"kid": signing_key.kid})
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(token)


async def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    impostor = SigningKey(kid=signing_key.kid)
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(mint(impostor, uuid.uuid4()))


async def test_a_tampered_payload_is_refused(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    head, _, signature = mint(signing_key, uuid.uuid4()).split(".")
    other = mint(signing_key, uuid.uuid4()).split(".")[1]
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(f"{head}.{other}.{signature}")


async def test_expired_token_is_refused_with_a_clear_detail(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    token = mint(signing_key, uuid.uuid4(), issued_at=time.time() - 900, lifetime=600)
    with pytest.raises(InvalidAccessToken, match="expired"):
        await verifier.verify(token)


@pytest.mark.parametrize("claim", ["iat", "nbf"])
async def test_a_token_not_valid_yet_is_refused(
    verifier: TokenVerifier, signing_key: SigningKey, claim: str
) -> None:
    now = int(time.time())
    too_early: dict[str, Any] = {claim: now + 120, "exp": now + 600}
    token = mint(signing_key, uuid.uuid4(), **too_early)
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(token)


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "someone-else"},
        {"aud": "another-service"},
        {"sub": "not-a-uuid"},
        {"org": "not-a-uuid"},
        {"sid": "not-a-uuid"},
        {"role": "owner"},
        {"lang": "es"},
        # Longer-lived than any access token the auth service issues (15 min).
        {"exp": int(time.time()) + 86_400},
    ],
)
async def test_tokens_with_wrong_claims_are_refused(
    verifier: TokenVerifier, signing_key: SigningKey, overrides: dict[str, Any]
) -> None:
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(mint(signing_key, uuid.uuid4(), **overrides))


@pytest.mark.parametrize("missing", list(REQUIRED_CLAIMS))
async def test_tokens_missing_a_required_claim_are_refused(
    verifier: TokenVerifier, signing_key: SigningKey, missing: str
) -> None:
    payload = claims_of(mint(signing_key, uuid.uuid4()))
    del payload[missing]
    token = jwt.encode(payload, signing_key.private, algorithm="EdDSA", headers={"kid": "key-1"})
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(token)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b.c", "a.b", "...", "eyJhbGciOiJFZERTQSJ9.e30.", "x" * 10_000]
)
async def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(token)


async def test_a_token_without_kid_or_with_an_unknown_kid_is_refused(
    verifier: TokenVerifier, signing_key: SigningKey
) -> None:
    payload = claims_of(mint(signing_key, uuid.uuid4()))
    no_kid = jwt.encode(payload, signing_key.private, algorithm="EdDSA")
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(no_kid)
    with pytest.raises(InvalidAccessToken):
        await verifier.verify(mint(SigningKey(kid="nobody-knows-me"), uuid.uuid4()))


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "Token abc"])
async def test_the_authorization_header_must_be_a_bearer_token(
    verifier: TokenVerifier, header: str | None
) -> None:
    with pytest.raises(InvalidAccessToken):
        await verifier.authenticate(header)


async def test_a_rotated_key_is_fetched_at_once_and_the_old_one_dropped(
    jwks_server: JwksServer, signing_key: SigningKey
) -> None:
    clock = ManualClock()
    jwks = JwksClient(jwks_server.url, min_refetch_seconds=5, clock=clock)
    verifier = TokenVerifier(jwks)
    try:
        old_token = mint(signing_key, uuid.uuid4())
        await verifier.verify(old_token)
        assert jwks_server.requests == 1

        new_key = SigningKey(kid="key-2")
        jwks_server.keys = [new_key]  # the auth service rotated its key
        clock.advance(6)
        principal = await verifier.verify(mint(new_key, uuid.uuid4()))
        assert principal is not None
        assert jwks_server.requests == 2
        # What the retired key signed is no longer accepted, even though it was cached.
        with pytest.raises(InvalidAccessToken):
            await verifier.verify(old_token)
    finally:
        await jwks.aclose()


async def test_unknown_kids_cannot_flood_the_auth_service(
    jwks_server: JwksServer, signing_key: SigningKey
) -> None:
    clock = ManualClock()
    jwks = JwksClient(jwks_server.url, min_refetch_seconds=5, clock=clock)
    verifier = TokenVerifier(jwks)
    try:
        await verifier.verify(mint(signing_key, uuid.uuid4()))
        clock.advance(10)
        for i in range(50):
            with pytest.raises(InvalidAccessToken):
                await verifier.verify(mint(SigningKey(kid=f"made-up-{i}"), uuid.uuid4()))
        assert jwks_server.requests == 2  # the first load, then one refetch per 5 s at most
    finally:
        await jwks.aclose()


async def test_concurrent_first_requests_fetch_the_keys_once(
    jwks_server: JwksServer, signing_key: SigningKey
) -> None:
    jwks = JwksClient(jwks_server.url)
    verifier = TokenVerifier(jwks)
    try:
        tokens = [mint(signing_key, uuid.uuid4()) for _ in range(20)]
        await asyncio.gather(*(verifier.verify(token) for token in tokens))
        assert jwks_server.requests == 1
    finally:
        await jwks.aclose()


async def test_cached_keys_carry_a_short_auth_outage(
    jwks_server: JwksServer, signing_key: SigningKey
) -> None:
    clock = ManualClock()
    jwks = JwksClient(jwks_server.url, refresh_after_seconds=60, clock=clock)
    verifier = TokenVerifier(jwks)
    try:
        await verifier.verify(mint(signing_key, uuid.uuid4()))
        jwks_server.failing = True  # the auth service is down
        clock.advance(600)  # keys are stale: a background refresh is attempted and fails
        await verifier.verify(mint(signing_key, uuid.uuid4()))
        # Waits for the background fetch that verification started (it starts no other).
        await asyncio.wait_for(jwks.refresh(), timeout=5)
        assert jwks_server.requests == 2
        for _ in range(3):  # the cached key still verifies
            await verifier.verify(mint(signing_key, uuid.uuid4()))
        jwks_server.failing = False
        clock.advance(600)
        await verifier.verify(mint(signing_key, uuid.uuid4()))
    finally:
        await jwks.aclose()


async def test_no_keys_at_all_is_a_503_not_a_401(signing_key: SigningKey) -> None:
    def down(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    http = httpx.AsyncClient(transport=httpx.MockTransport(down))
    jwks = JwksClient("http://auth.invalid/.well-known/jwks.json", http=http)
    try:
        with pytest.raises(SigningKeysUnavailable):
            await TokenVerifier(jwks).verify(mint(signing_key, uuid.uuid4()))
    finally:
        await http.aclose()


async def test_keys_other_than_ed25519_signing_keys_are_ignored(signing_key: SigningKey) -> None:
    document = {
        "keys": [
            {**signing_key.jwk(), "kid": "enc", "use": "enc"},
            {**signing_key.jwk(), "kid": "x25519", "crv": "X25519"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "broken", "x": "!!"},
            "not even an object",
            signing_key.jwk(),
        ]
    }

    def serve(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=document)

    http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    jwks = JwksClient("http://auth.test/jwks", http=http)
    try:
        await jwks.refresh()
        for kid in ("enc", "x25519", "hmac", "broken"):
            with pytest.raises(InvalidAccessToken):
                await TokenVerifier(jwks).verify(mint(SigningKey(kid=kid), uuid.uuid4()))
        user = uuid.uuid4()
        # The usable Ed25519 key among the ignored ones verifies, and names the right caller.
        assert (await TokenVerifier(jwks).verify(mint(signing_key, user))).user_id == user
    finally:
        await http.aclose()


async def test_a_verified_token_is_not_trusted_past_its_expiry(
    jwks_server: JwksServer, signing_key: SigningKey
) -> None:
    # whole seconds, like the token's claims
    clock = ManualClock(datetime.fromtimestamp(int(time.time()), UTC))
    jwks = JwksClient(jwks_server.url)
    verifier = TokenVerifier(jwks, clock=clock)
    try:
        # Expired 4 s ago: within the 5 s leeway, so accepted (and cached) for one more second.
        token = mint(signing_key, uuid.uuid4(), issued_at=clock.now().timestamp() - 64, lifetime=60)
        await verifier.verify(token)
        clock.advance(0.5)
        await verifier.verify(token)
        clock.advance(1.0)
        with pytest.raises(InvalidAccessToken, match="expired"):
            await verifier.verify(token)
    finally:
        await jwks.aclose()
