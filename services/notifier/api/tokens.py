"""Verifying the auth service's access tokens locally, with nothing but its JWKS document.

Keys are cached; an unknown `kid` triggers a (rate-limited) refetch so a key rotation is picked
up at once, and a failing JWKS endpoint leaves the cached keys in use, so a short auth outage
does not log anyone out. Verified tokens are cached until they expire: an Ed25519 verification
costs ~0.2 ms here, and the web app presents the same token on every poll.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from shared.clock import Clock, SystemClock
from shared.logging import get_logger
from shared.problems import ServiceUnavailable, Unauthenticated
from shared.tokens import (
    ALGORITHM,
    LEEWAY_SECONDS,
    Principal,
    TokenRejected,
    signing_key_id,
    verified_principal,
)

log = get_logger(__name__)


class InvalidAccessToken(Unauthenticated):
    """Malformed, expired, forged or otherwise unacceptable access token."""

    # RFC 6750 §3: the scheme to use, and that the token itself is the problem.
    challenge = 'Bearer error="invalid_token"'

    def __init__(self, detail: str = "The access token is missing or not valid.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": self.challenge})


class MissingAccessToken(InvalidAccessToken):
    """No Bearer token at all: RFC 6750 wants the bare challenge, without an error code."""

    challenge = "Bearer"


class SigningKeysUnavailable(ServiceUnavailable):
    """The auth service's keys were never obtained, so no token can be checked yet."""

    def __init__(self) -> None:
        super().__init__(
            "The auth service's signing keys cannot be fetched right now; try again shortly.",
            headers={"Retry-After": "5"},
        )


class UnknownSigningKey(Exception):
    """The JWKS document (even freshly fetched) has no usable key with this `kid`."""


def _ed25519_keys(document: Any) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of a JWKS document by kid; other keys are ignored."""
    keys: dict[str, Ed25519PublicKey] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("a JWKS document has a `keys` list")  # noqa: TRY004 - bad input, caught
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        usable = (
            isinstance(kid, str)
            and kid
            and entry.get("kty") == "OKP"
            and entry.get("crv") == "Ed25519"
            and entry.get("alg", ALGORITHM) == ALGORITHM
            and entry.get("use", "sig") == "sig"
        )
        if not usable:
            continue
        try:
            key = OKPAlgorithm.from_jwk(entry)
        except jwt.InvalidKeyError:
            continue
        if isinstance(key, Ed25519PublicKey):
            keys[str(kid)] = key
    return keys


class JwksClient:
    """The auth service's public keys, cached, refreshed in the background when stale and
    refetched at once (at most every `min_refetch_seconds`) when a token names an unknown kid."""

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        refresh_after_seconds: float = 300.0,
        min_refetch_seconds: float = 5.0,
        timeout_seconds: float = 2.0,
        clock: Clock | None = None,
    ) -> None:
        self._url = url
        self._http = http or httpx.AsyncClient(timeout=timeout_seconds)
        self._owns_http = http is None
        self._refresh_after = refresh_after_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock or SystemClock()
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._loaded = False
        self._fetched_at = 0.0
        self._last_attempt: float | None = None
        self._fetching: asyncio.Task[None] | None = None
        self.generation = 0
        """Bumped whenever the key set changes, so caches of verified tokens can be dropped."""

    @property
    def loaded(self) -> bool:
        """True once a JWKS document was fetched successfully."""
        return self._loaded

    async def key_for(self, kid: str) -> Ed25519PublicKey:
        """The verification key named `kid`; raises UnknownSigningKey when there is none."""
        key = self._keys.get(kid)
        if key is not None:
            if (
                self._clock.monotonic() - self._fetched_at > self._refresh_after
                and self._may_refetch()
            ):
                self._start_fetch()  # in the background: this request goes on with the cache
            return key
        if self._is_fetching() or self._may_refetch():
            await self.refresh()
            key = self._keys.get(kid)
        if key is None:
            raise UnknownSigningKey(kid)
        return key

    async def refresh(self) -> None:
        """Fetch the document now, or wait for the fetch under way; keeps the cached keys when
        the fetch fails."""
        task = self._fetching
        if task is None or task.done():
            task = self._start_fetch()
        # Shielded: a caller that goes away must not cancel the fetch others are waiting on.
        await asyncio.shield(task)

    async def aclose(self) -> None:
        if self._fetching is not None:
            self._fetching.cancel()
        if self._owns_http:
            await self._http.aclose()

    def _may_refetch(self) -> bool:
        # Rate-limited so tokens with made-up kids cannot turn into a flood on the auth service.
        return (
            self._last_attempt is None
            or self._clock.monotonic() - self._last_attempt >= self._min_refetch
        )

    def _is_fetching(self) -> bool:
        return self._fetching is not None and not self._fetching.done()

    def _start_fetch(self) -> asyncio.Task[None]:
        self._last_attempt = self._clock.monotonic()
        self._fetching = asyncio.create_task(self._fetch())
        return self._fetching

    async def _fetch(self) -> None:
        try:
            response = await self._http.get(self._url)
            response.raise_for_status()
            keys = _ed25519_keys(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning(
                "jwks_fetch_failed",
                url=self._url,
                error_class=type(exc).__name__,
                cached_keys=len(self._keys),
            )
            return
        if keys != self._keys:
            self.generation += 1
            log.info("jwks_keys_loaded", url=self._url, kids=sorted(keys))
        self._keys = keys
        self._loaded = True
        self._fetched_at = self._clock.monotonic()


class TokenVerifier:
    """Turns an `Authorization: Bearer …` header into a Principal, or raises InvalidAccessToken."""

    def __init__(
        self,
        jwks: JwksClient,
        *,
        cache_size: int = 10_000,
        clock: Clock | None = None,
    ) -> None:
        self._jwks = jwks
        self._cache_size = cache_size
        self._clock = clock or SystemClock()
        # token -> (caller, expiry, generation of the key set that verified it)
        self._verified: dict[str, tuple[Principal, float, int]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a request, from its Authorization header."""
        if not authorization:
            raise MissingAccessToken("An access token is required (Authorization: Bearer …).")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise MissingAccessToken("The Authorization header must be `Bearer <access token>`.")
        return await self.verify(token)

    async def verify(self, token: str) -> Principal:
        """Check signature, algorithm, issuer, audience and lifetime of an access token."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires_at, generation = cached
            # Not past its expiry, and its key has not been rotated out since.
            if (
                generation == self._jwks.generation
                and self._clock.now().timestamp() < expires_at + LEEWAY_SECONDS
            ):
                return principal
            del self._verified[token]
        verified = await self._verify_uncached(token)
        if len(self._verified) >= self._cache_size:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = verified
        return verified[0]

    async def _verify_uncached(self, token: str) -> tuple[Principal, float, int]:
        try:
            kid = signing_key_id(token)
            key = await self._jwks.key_for(kid)
            generation = self._jwks.generation  # nothing awaits between here and the check
            now = self._clock.now().timestamp()
            principal = verified_principal(token, key, now)
            # Read again only for what the shared check does not return or does not check.
            claims = jwt.decode(token, options={"verify_signature": False})
            _check_not_before(claims, now)
            expires_at = float(claims["exp"])
        except TokenRejected as rejected:
            if rejected.expired:
                raise InvalidAccessToken("The access token has expired.") from None
            raise InvalidAccessToken() from None
        except UnknownSigningKey:
            if not self._jwks.loaded:
                raise SigningKeysUnavailable() from None
            raise InvalidAccessToken() from None
        return principal, expires_at, generation


def _check_not_before(claims: dict[str, Any], now: float) -> None:
    """`nbf`, when present, must not be in the future (the shared check leaves it alone)."""
    not_before = claims.get("nbf")
    if not_before is None:
        return
    if not isinstance(not_before, int | float) or isinstance(not_before, bool):
        raise TokenRejected()
    if not_before > now + LEEWAY_SECONDS:
        raise TokenRejected()
