"""What the auth routes take by dependency injection: the caller (from the bearer token), the
client's address, and the use cases built by the composition root."""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from services.auth.domain import ClientInfo
from services.auth.platform.config import Network
from services.auth.sessions.errors import InvalidAccessToken
from services.auth.sessions.tokens import AccessTokens
from shared.tokens import Principal

BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]


def _bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidAccessToken("The Authorization header must be `Bearer <access token>`.")
    return token.strip()


async def provide_principal(request: Request[Any, Any, Any], state: State) -> Principal:
    """The caller, from a valid access token; 401 otherwise."""
    token = _bearer_token(request)
    if token is None:
        raise InvalidAccessToken("An access token is required (Authorization: Bearer …).")
    tokens: AccessTokens = state.tokens
    return await tokens.verify(token)


async def provide_optional_principal(
    request: Request[Any, Any, Any], state: State
) -> Principal | None:
    """The caller when a valid token is sent; anonymous otherwise (e.g. a stale token on a
    sign-up page must not break the password meter)."""
    try:
        return await provide_principal(request, state)
    except InvalidAccessToken:
        return None


def client_address(peer: str, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The client's address: the peer, or — when the peer is a trusted proxy — the nearest
    address in X-Forwarded-For that is not a trusted proxy."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not forwarded_for or not is_trusted(peer):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            return hop
    return peer


def provide_client(request: Request[Any, Any, Any], state: State) -> ClientInfo:
    peer = request.client.host if request.client else "unknown"
    address = client_address(peer, request.headers.get("x-forwarded-for"), state.trusted_proxies)
    return ClientInfo(address=address, user_agent=request.headers.get("user-agent"))


def from_state(name: str) -> Provide:
    """The object the composition root published as `app.state.<name>`."""

    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)
