"""Access tokens, the JWKS document, key rotation, refresh token rotation and logout."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import asyncpg
import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.auth.app import create_app
from services.auth.platform.crypto import Sealer
from services.auth.sessions.keys import SEALING_PURPOSE, rotate_signing_key
from shared.db import UnitOfWork
from shared.tokens import AUDIENCE, ISSUER, REQUIRED_CLAIMS
from tests.auth.conftest import (
    SECRET_KEY,
    AuthHarness,
    cheap_auth_settings,
    http_client,
    running,
    settings_for,
)


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


async def fetch_jwks(auth: AuthHarness) -> dict[str, Any]:
    response = await auth.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    document: dict[str, Any] = response.json()
    return document


async def test_access_tokens_verify_with_pyjwt_and_only_the_jwks_document(
    auth: AuthHarness,
) -> None:
    user = await auth.create_user(role="admin", language="fr")
    token = (await auth.login())["access_token"]
    document = await fetch_jwks(auth)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    jwk = next(k for k in document["keys"] if k["kid"] == header["kid"])
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": jwk["x"],
        "kid": header["kid"],
        "use": "sig",
        "alg": "EdDSA",
    }
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["EdDSA"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False},  # the test clock is in 2026
    )
    assert set(REQUIRED_CLAIMS) <= set(claims)
    assert claims["sub"] == str(user.id)
    assert claims["org"] == str(user.organization_id)
    assert (claims["role"], claims["lang"], claims["amr"]) == ("admin", "fr", ["pwd"])
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iat"] == int(auth.clock.now().timestamp())


async def test_access_tokens_verify_with_raw_ed25519_from_the_jwks_document(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    token = (await auth.login())["access_token"]
    document = await fetch_jwks(auth)
    header_b64, payload_b64, signature_b64 = token.split(".")
    kid = json.loads(b64decode(header_b64))["kid"]
    jwk = next(k for k in document["keys"] if k["kid"] == kid)
    key = Ed25519PublicKey.from_public_bytes(b64decode(jwk["x"]))
    key.verify(b64decode(signature_b64), f"{header_b64}.{payload_b64}".encode())
    forged = json.loads(b64decode(payload_b64)) | {"role": "admin"}
    forged_b64 = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        key.verify(b64decode(signature_b64), f"{header_b64}.{forged_b64}".encode())


async def test_missing_bad_forged_and_expired_tokens_are_401_problems(auth: AuthHarness) -> None:
    await auth.create_user()
    token = (await auth.login())["access_token"]
    header, payload, signature = token.split(".")
    tampered_payload = json.loads(b64decode(payload)) | {"role": "admin"}
    tampered = ".".join(
        [
            header,
            base64.urlsafe_b64encode(json.dumps(tampered_payload).encode()).decode().rstrip("="),
            signature,
        ]
    )
    unsigned = jwt.encode(tampered_payload, key="", algorithm="none")
    cases = {
        "missing": {},
        "not bearer": {"Authorization": f"Token {token}"},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "tampered": {"Authorization": f"Bearer {tampered}"},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
    }
    for name, headers in cases.items():
        response = await auth.client.get("/v1/me", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert response.json()["type"] == "https://clochette.dev/problems/unauthenticated"
    assert (
        await auth.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    ).is_success
    auth.clock.advance(15 * 60 + 5)
    expired = await auth.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401
    assert expired.json()["detail"] == "The access token has expired."


async def test_rotation_publishes_the_next_key_ahead_and_keeps_the_old_one_until_expiry(
    auth: AuthHarness, database_url: str
) -> None:
    await auth.create_user()
    old_token = (await auth.login())["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    new = await rotate_signing_key(
        UnitOfWork(auth.app.state.pool),
        Sealer(SECRET_KEY, SEALING_PURPOSE),
        auth.clock.now(),
        timedelta(minutes=10),
    )
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "auth"})
    try:
        stored = await conn.fetchval(
            "SELECT sealed_private_key FROM signing_keys WHERE kid = $1", new.kid
        )
    finally:
        await conn.close()
    assert len(stored) > 32  # sealed, not the raw 32-byte private key
    await auth.app.state.signing_keys.load()  # what the periodic reload does

    kids = [k["kid"] for k in (await fetch_jwks(auth))["keys"]]
    assert kids == [new.kid, old_kid]  # published ahead of use
    assert jwt.get_unverified_header((await auth.login())["access_token"])["kid"] == old_kid

    auth.clock.advance(minutes=10)
    new_token = (await auth.login())["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == new.kid
    auth.clock.advance(minutes=5, seconds=6)
    expired = await auth.client.get("/v1/me", headers={"Authorization": f"Bearer {old_token}"})
    assert expired.status_code == 401
    kids = [k["kid"] for k in (await fetch_jwks(auth))["keys"]]
    assert kids == [new.kid, old_kid]  # tokens signed just before the switch are still valid
    auth.clock.advance(minutes=12)
    assert [k["kid"] for k in (await fetch_jwks(auth))["keys"]] == [new.kid]


async def test_a_changed_secret_key_replaces_the_signing_key(
    auth: AuthHarness, database_url: str
) -> None:
    await auth.create_user()
    first = (await auth.login())["access_token"]
    auth.clock.advance(1)
    other = create_app(
        settings_for(database_url, secret="another-secret-" + "y" * 40),
        auth_settings=cheap_auth_settings(),
        clock=auth.clock,
    )
    async with running(other), http_client(other) as client:
        response = await client.post(
            "/v1/auth/login",
            json={"email": "jan.peeters@example.be", "password": "violet tram under snow"},
        )
        second = response.json()["access_token"]
    assert jwt.get_unverified_header(second)["kid"] != jwt.get_unverified_header(first)["kid"]


async def test_refresh_rotates_the_token_and_reuse_revokes_the_family(auth: AuthHarness) -> None:
    await auth.create_user()
    first = await auth.login()
    other_session = await auth.login()
    second = (
        await auth.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = (
        await auth.client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).json()
    # Someone replays the first, already rotated token after the reuse interval: the whole
    # family dies.
    auth.clock.advance(31)
    replay = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    assert replay.json()["type"] == "https://clochette.dev/problems/invalid-refresh-token"
    newest = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}
    )
    assert newest.status_code == 401
    me = await auth.client.get("/v1/me", headers=auth.bearer(third))
    assert me.status_code == 401  # the auth service checks its own sessions too
    # Another login of the same user is not affected.
    assert (
        await auth.client.post(
            "/v1/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
        )
    ).status_code == 200


async def test_refresh_tokens_expire_and_unknown_ones_are_refused(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await auth.login()
    unknown = await auth.client.post("/v1/auth/refresh", json={"refresh_token": "clr_made_up"})
    assert unknown.status_code == 401
    auth.clock.advance(days=14, seconds=1)
    expired = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert expired.status_code == 401


async def test_sessions_end_after_their_maximum_lifetime_even_when_refreshed(
    auth: AuthHarness,
) -> None:
    await auth.create_user()
    tokens = await auth.login()
    for _ in range(3):
        auth.clock.advance(days=10)
        response = await auth.client.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        if response.status_code != 200:
            break
        tokens = response.json()
    assert response.status_code == 401  # 30 days after the login


async def test_refresh_carries_the_current_language_and_role(auth: AuthHarness) -> None:
    await auth.create_user(language="nl")
    tokens = await auth.login()
    await auth.client.patch("/v1/me", json={"language": "de"}, headers=auth.bearer(tokens))
    refreshed = (
        await auth.client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})
    assert claims["lang"] == "de"


async def test_logout_revokes_the_session(auth: AuthHarness) -> None:
    await auth.create_user()
    tokens = await auth.login()
    response = await auth.client.post(
        "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 204
    assert response.content == b""
    refresh = await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    assert (await auth.client.get("/v1/me", headers=auth.bearer(tokens))).status_code == 401
    again = await auth.client.post(
        "/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 204  # idempotent, and no oracle for unknown tokens


async def test_refresh_tokens_are_stored_hashed(auth: AuthHarness, database_url: str) -> None:
    await auth.create_user()
    tokens = await auth.login()
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch("SELECT token_hash FROM auth.refresh_tokens")
    finally:
        await conn.close()
    assert len(stored) == 1
    assert bytes(stored[0]["token_hash"]) != tokens["refresh_token"].encode()
    assert tokens["refresh_token"].encode() not in bytes(stored[0]["token_hash"])
