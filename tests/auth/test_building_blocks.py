"""Unit tests of the pure parts: throttle schedule, client addresses, sealing, key ring."""

from __future__ import annotations

import ipaddress
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.auth.accounts.hashing import Argon2Parameters, PasswordHashing
from services.auth.http.dependencies import client_address
from services.auth.login.throttling import ThrottlePolicy, address_key
from services.auth.platform.crypto import CannotUnseal, Sealer
from services.auth.sessions.keys import KeyRing, SigningKey, raw_public_bytes, thumbprint

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_delays_start_after_the_free_failures_double_and_stop_at_the_cap() -> None:
    policy = ThrottlePolicy(5, timedelta(seconds=2), timedelta(seconds=60))
    delays = [policy.delay_after(n).total_seconds() for n in range(1, 13)]
    assert delays == [0, 0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60]
    assert policy.delay_after(10_000) == timedelta(seconds=60)


def test_ipv6_clients_are_grouped_by_their_64_prefix() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert address_key("203.0.113.9") == "203.0.113.9"
    assert address_key("testclient") == "testclient"


def test_forwarded_for_is_only_believed_from_trusted_proxies() -> None:
    proxies = [ipaddress.ip_network("10.0.0.0/8")]
    assert client_address("10.1.2.3", "203.0.113.9", proxies) == "203.0.113.9"
    # A client cannot smuggle an address through a trusted proxy: the proxy appends the real one.
    assert client_address("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9", proxies) == "203.0.113.9"
    assert client_address("198.51.100.1", "203.0.113.9", proxies) == "198.51.100.1"
    assert client_address("10.1.2.3", "203.0.113.9", []) == "10.1.2.3"
    assert client_address("10.1.2.3", None, proxies) == "10.1.2.3"


def test_sealed_values_open_only_with_the_same_secret_and_associated_data() -> None:
    sealer = Sealer("a" * 48, "signing-keys/v1")
    sealed = sealer.seal(b"private bytes", b"kid-1")
    assert b"private bytes" not in sealed
    assert sealer.unseal(sealed, b"kid-1") == b"private bytes"
    assert sealer.seal(b"private bytes", b"kid-1") != sealed  # fresh nonce each time
    with pytest.raises(CannotUnseal):
        sealer.unseal(sealed, b"kid-2")
    with pytest.raises(CannotUnseal):
        Sealer("b" * 48, "signing-keys/v1").unseal(sealed, b"kid-1")
    with pytest.raises(CannotUnseal):
        Sealer("a" * 48, "totp/v1").unseal(sealed, b"kid-1")
    with pytest.raises(CannotUnseal):
        sealer.unseal(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"kid-1")


def _key(activates_at: datetime) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return SigningKey(thumbprint(raw_public_bytes(public)), public, private, activates_at)


def test_the_ring_signs_with_the_latest_active_key_and_publishes_the_next_ahead() -> None:
    old, new = _key(T0), _key(T0 + timedelta(minutes=10))
    ring = KeyRing([new, old], keep_published=timedelta(minutes=16))
    assert ring.signing_key(T0 + timedelta(minutes=5)) == old
    assert [k.kid for k in ring.published(T0 + timedelta(minutes=5))] == [old.kid, new.kid]
    assert ring.signing_key(T0 + timedelta(minutes=10)) == new


def test_a_superseded_key_stays_published_until_its_tokens_expired() -> None:
    old, new = _key(T0), _key(T0 + timedelta(minutes=10))
    ring = KeyRing([old, new], keep_published=timedelta(minutes=16))
    just_before = T0 + timedelta(minutes=25, seconds=59)
    assert ring.verification_key(old.kid, just_before) is not None
    assert ring.verification_key(old.kid, T0 + timedelta(minutes=26)) is None
    assert [k["kid"] for k in ring.jwks(T0 + timedelta(minutes=26))["keys"]] == [new.kid]


def test_the_kid_is_the_rfc7638_thumbprint() -> None:
    # RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    assert thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


async def test_hashing_threads_run_at_a_lower_priority_and_verify_what_they_hash() -> None:
    hashing = PasswordHashing(Argon2Parameters(1, 256, 1), threads=2, niceness=7)
    try:
        niceness = await hashing._run(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        )
        stored = await hashing.hash("ﬁne print")  # NFKC: the same password as "fine print"
        assert (await hashing.verify(stored, "fine print")).ok
        assert not (await hashing.verify(stored, "fine prints")).ok
        assert not (await hashing.verify(None, "fine print")).ok
        assert not (await hashing.verify("not a hash", "fine print")).ok
    finally:
        hashing.close()
    assert niceness == os.getpriority(os.PRIO_PROCESS, 0) + 7 or niceness == 19
