"""Operators see request counts and latencies per route on /metrics; clients find every route,
with its Bearer security, in the OpenAPI document."""

from __future__ import annotations

import re
import uuid

from tests.notifier_api.conftest import Bell


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (0 when absent)."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


async def test_requests_are_counted_and_timed_per_route_template(bell: Bell) -> None:
    user = await bell.add_user()
    ids = [await bell.notify(user) for _ in range(3)]
    route = "/v1/notifications/{notification_id}/read"
    before = (await bell.client.get("/metrics")).text
    for notification in ids:
        await bell.client.post(f"/v1/notifications/{notification}/read", headers=user.headers)
    await bell.client.post(f"/v1/notifications/{uuid.uuid4()}/read", headers=user.headers)
    await bell.client.get("/v1/notifications/unread-count")  # no token

    response = await bell.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    labels = {"method": "POST", "route": route}
    for status, expected in (("204", 3), ("404", 1)):
        counted = sample(after, "notifier_http_requests_total", status=status, **labels)
        assert (
            counted - sample(before, "notifier_http_requests_total", status=status, **labels)
            == expected
        )
    timed = sample(after, "notifier_http_request_duration_seconds_count", status="204", **labels)
    assert timed >= 3
    assert (
        sample(
            after,
            "notifier_http_request_duration_seconds_bucket",
            status="204",
            le="+Inf",
            **labels,
        )
        == timed
    )
    assert (
        sample(
            after,
            "notifier_http_requests_total",
            method="GET",
            route="/v1/notifications/unread-count",
            status="401",
        )
        >= 1
    )
    for notification in ids:  # raw paths never become label values
        assert str(notification) not in after


async def test_openapi_documents_the_bell_with_bearer_security(bell: Bell) -> None:
    document = (await bell.client.get("/schema/openapi.json")).json()
    assert document["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    operations = {
        ("get", "/v1/notifications"),
        ("get", "/v1/notifications/unread-count"),
        ("post", "/v1/notifications/{notification_id}/read"),
        ("post", "/v1/notifications/read-all"),
        ("post", "/v1/notifications/seen"),
        ("post", "/v1/notifications/{notification_id}/unread"),
        ("post", "/v1/notifications/{notification_id}/archive"),
        ("post", "/v1/notifications/{notification_id}/unarchive"),
        ("get", "/v1/notification-preferences"),
        ("put", "/v1/notification-preferences"),
    }
    for method, path in operations:
        operation = document["paths"][path][method]
        assert operation["security"] == [{"BearerToken": []}]
        assert "401" in operation["responses"]
    listing = document["paths"]["/v1/notifications"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    status = next(p for p in listing["parameters"] if p["name"] == "status")
    reference = status["schema"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert sorted(document["components"]["schemas"][reference]["enum"]) == [
        "all",
        "archived",
        "unread",
    ]
    badge = document["paths"]["/v1/notifications/unread-count"]["get"]["responses"]["200"]
    assert set(badge["headers"]) >= {"ETag", "X-Poll-Interval", "Cache-Control"}
    assert badge["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UnreadCount"
    }
    problem = listing["responses"]["422"]["content"]["application/problem+json"]["schema"]
    assert problem["$ref"].endswith("/ProblemDocument")
    assert "304" in document["paths"]["/v1/notifications/unread-count"]["get"]["responses"]
    assert (
        "404" in document["paths"]["/v1/notifications/{notification_id}/read"]["post"]["responses"]
    )
