"""Every route of the auth service except health, with its dependencies. Personal answers are
never cached; the public documents are."""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide

from services.auth.http import accounts, login, passkeys, self_service, sessions, two_factor
from services.auth.http.dependencies import (
    from_state,
    provide_client,
    provide_optional_principal,
    provide_principal,
)
from services.auth.platform.asyncapi import asyncapi_document

MAX_BODY_BYTES = 64 * 1024


@get("/asyncapi.json", tags=["docs"], summary="AsyncAPI 3.0 document of the published topics")
async def asyncapi() -> dict[str, Any]:
    return asyncapi_document()


def auth_routers(*, with_asyncapi: bool = True) -> list[Router]:
    """The API router (no-store, bounded bodies) and the public documents' router (the AsyncAPI
    document only when the main listener serves it: outside production)."""
    dependencies = {
        "principal": Provide(provide_principal),
        "optional_principal": Provide(provide_optional_principal),
        "client": Provide(provide_client, sync_to_thread=False),
        "login_use_case": from_state("login"),
        "profile": from_state("profile"),
        "accounts": from_state("accounts"),
        "sessions": from_state("sessions"),
        "passwords": from_state("passwords"),
        "phone_confirmation": from_state("phone_confirmation"),
        "two_factor": from_state("two_factor"),
        "keys": from_state("signing_keys"),
        "quality_rate_limit": from_state("quality_rate_limit"),
        "my_sessions": from_state("my_sessions"),
        "security_history": from_state("security_history"),
        "passkeys": from_state("passkeys"),
        "passkey_login": from_state("passkey_login"),
    }
    api = Router(
        path="/",
        route_handlers=[
            login.login,
            login.login_second_factor,
            two_factor.request_phone_code,
            two_factor.verify_phone,
            two_factor.activate_two_factor,
            two_factor.regenerate_recovery_codes,
            two_factor.deactivate_two_factor,
            sessions.refresh,
            sessions.logout,
            accounts.get_me,
            accounts.patch_me,
            accounts.change_password,
            accounts.password_quality,
            accounts.create_user,
            accounts.list_users,
            accounts.deactivate_user,
            self_service.list_my_sessions,
            self_service.end_my_session,
            self_service.end_my_other_sessions,
            self_service.my_security_events,
            *passkeys.ROUTES,
        ],
        dependencies=dependencies,
        cache_control=CacheControlHeader(no_store=True),
        request_max_body_size=MAX_BODY_BYTES,
    )
    documents = Router(
        path="/",
        route_handlers=[sessions.jwks, *([asyncapi] if with_asyncapi else [])],
        dependencies=dependencies,
    )
    return [api, documents]
