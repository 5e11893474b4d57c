"""The API benchmark's population: counters that match the rows they count, every platform
type and some security ones, and parameters the renderer turns into real texts (a seed whose
items fell back to the generic text would measure the wrong path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.notifier_api_load import Scenario, wrk_script
from bench.notifier_api_seed import DAYS, population, seed
from services.notifier.api.rendering import NotificationRenderer
from services.notifier.categories import PLATFORM_TYPES
from shared.db import create_pool

pytestmark = pytest.mark.db

COUNTED = """
SELECT r.user_id, r.unread_count, r.unread_action, r.unread_info, r.unread_security,
       r.unseen_count, r.latest_created_at, r.language,
       count(n.*) FILTER (WHERE n.read_at IS NULL) AS unread,
       count(n.*) FILTER (WHERE n.read_at IS NULL AND n.category = 'action') AS action,
       count(n.*) FILTER (WHERE n.read_at IS NULL AND n.category = 'info') AS info,
       count(n.*) FILTER (WHERE n.read_at IS NULL AND n.category = 'security') AS security,
       count(n.*) FILTER (WHERE n.seen_at IS NULL) AS unseen,
       max(n.created_at) AS newest, min(n.created_at) AS oldest, count(n.*) AS items
FROM recipients r JOIN notifications n USING (user_id)
GROUP BY r.user_id
"""


async def test_the_seed_counts_what_it_writes_and_renders_as_the_bell_does(
    database_url: str,
) -> None:
    people = population(6)
    started = datetime.now(UTC)
    await seed(database_url, people, 300, chunk=4)
    pool = await create_pool(database_url, max_size=1, search_path="notifier")
    try:
        rows = await pool.fetch(COUNTED)
        items = await pool.fetch("SELECT type, params FROM notifications")
    finally:
        await pool.close()
    assert {row["user_id"] for row in rows} == {p.user_id for p in people}
    for row in rows:
        assert row["items"] == 300
        assert row["unread_count"] == row["unread"] > 0
        assert row["unread_action"] == row["action"]
        assert row["unread_info"] == row["info"]
        assert row["unread_security"] == row["security"]
        assert row["unseen_count"] == row["unseen"]
        assert row["latest_created_at"] == row["newest"]
        assert row["oldest"] > started - timedelta(days=DAYS, minutes=1)
    assert {row["language"] for row in rows} >= {"nl", "fr"}
    types = {item["type"] for item in items}
    assert set(PLATFORM_TYPES) <= types
    assert any(t.startswith("security.") for t in types)
    renderer = NotificationRenderer("https://app.example.be")
    generic = renderer.render("no.such.type", {}, "nl")
    for item in items:
        rendered = renderer.render(item["type"], item["params"], "nl")
        assert rendered.title != generic.title, (item["type"], item["params"])


def test_the_wrk_script_quotes_every_header_and_rotates_through_them() -> None:
    script = wrk_script(Scenario("s", "/v1/x?limit=20", [{"If-None-Match": '"a\\b"'}, {}], 304))
    assert 'PATH = "/v1/x?limit=20"' in script
    assert "EXPECTED = 304" in script
    assert '{["If-None-Match"] = "\\"a\\\\b\\""},\n{}' in script
    assert "if status ~= EXPECTED then unexpected = unexpected + 1 end" in script
    assert "PATHS = {}" in script


def test_the_wrk_script_takes_one_path_per_user_when_given() -> None:
    paths = ["/v1/x?cursor=a", "/v1/x?cursor=b"]
    script = wrk_script(Scenario("s", paths[0], [{}, {}], paths=paths))
    assert 'PATHS = {"/v1/x?cursor=a", "/v1/x?cursor=b"}' in script
    assert 'wrk.format("GET", PATHS[i] or PATH, h)' in script
