"""The AsyncAPI document of the published topics and the OpenAPI document of the routes."""

from __future__ import annotations

from typing import Any

from shared.events.user_events import USER_EVENT_PAYLOADS
from tests.auth.conftest import AuthHarness


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in all_refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in all_refs(value)]
    return []


async def test_asyncapi_documents_every_user_event_on_auth_users(auth: AuthHarness) -> None:
    response = await auth.client.get("/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    channel = document["channels"]["authUsers"]
    assert channel["address"] == "auth.users"
    for ref in all_refs(document):
        resolve(document, ref)  # every reference points somewhere
    types = set()
    for ref in channel["messages"].values():
        message = resolve(document, ref["$ref"])
        payload = message["payload"]
        assert message["contentType"] == "application/json"
        assert set(payload["required"]) >= {
            "event_id",
            "type",
            "version",
            "occurred_at",
            "organization_id",
            "data",
        }
        assert payload["properties"]["version"]["const"] == 1
        types.add(payload["properties"]["type"]["const"])
    assert types == {p.type_name for p in USER_EVENT_PAYLOADS}  # type: ignore[attr-defined]
    operation = document["operations"]["publishAuthUsers"]
    assert operation["action"] == "send"
    assert resolve(document, operation["channel"]["$ref"]) == channel


async def test_openapi_documents_the_routes_and_their_bearer_security(auth: AuthHarness) -> None:
    document = (await auth.client.get("/schema/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/v1/me",
        "/v1/me/password",
        "/v1/password-quality",
        "/v1/organizations/{organization_id}/users",
        "/.well-known/jwks.json",
    ):
        assert path in paths, path
    assert paths["/v1/me"]["get"]["security"] == [{"BearerToken": []}]
    assert "security" not in paths["/v1/auth/login"]["post"]
    schema = document["components"]["schemas"]["UpdateMeRequest"]
    assert schema["properties"]["language"]["enum"] == ["nl", "fr", "en", "de"]
