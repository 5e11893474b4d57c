"""The bell, second version, in Debian's Chromium against `clochette dev` (contract 5.1): the dot
follows *unseen*, tabs per category with their counts, groups that expand, archive, mark unread,
the preferences with locked types, long polling and its fallback to plain polling.

Every test has a user of an organisation of its own. The stack's poll interval is 30 s here, so
a notification that shows within a few seconds came through the long poll, not a plain poll."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, Request, Route, expect

from clochette.web.server import STATIC
from services.notifier.categories import ALL_TYPES
from tests.browser.pages import (
    BELL_TIMEOUT_MS,
    NEW_SIGN_IN_ALERTS,
    BellUser,
    change_password,
    chromium,
    create_user,
    log_in,
    new_page,
    publish,
)
from tests.browser.stack import Stack, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(240)]

POLL_INTERVAL = 30
# Well under POLL_INTERVAL: only a long poll can bring a change this fast.
LONG_POLL_BOUND_MS = 10_000
UNREAD_COUNT = re.compile(r"/v1/notifications/unread-count$")
SHOW = """() => {
    delete document.hidden;
    document.dispatchEvent(new Event("visibilitychange"));
}"""
HIDE = """() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`clochette dev` telling browsers to poll every 30 s (X-Poll-Interval)."""
    home = tmp_path_factory.mktemp("bell-v2") / "home"
    with running_stack(home, poll_interval=POLL_INTERVAL) as running:
        yield running


@asynccontextmanager
async def signed_in(
    stack: Stack,
    executable: str,
    user: BellUser,
    artifacts: Path,
    *,
    route: Any = None,
    expected_error: str | None = None,
) -> AsyncIterator[Page]:
    """A logged-in page of `user`; script errors and CSP violations fail the test (except the
    browser's line for a refusal the test provokes, `expected_error`)."""
    async with chromium(executable) as browser:
        page = await new_page(browser)
        problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and not (expected_error and expected_error in m.text)
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.context.add_init_script(user.device_script())
        if route is not None:
            await page.route(UNREAD_COUNT, route)
        try:
            assert await log_in(page, stack, user.email, user.password)
            yield page
            assert not problems, problems
        except BaseException:
            await page.screenshot(path=artifacts / "failure.png", full_page=True)
            sys.stderr.write(f"screenshot: {artifacts / 'failure.png'}\n{stack.tail()}\n")
            raise


async def new_user(stack: Stack, *topics: str) -> BellUser:
    user = await asyncio.to_thread(create_user, stack)
    for topic in topics:
        await asyncio.to_thread(publish, stack, user, topic)
    return user


def tab(page: Page, name: str) -> Any:
    return page.locator(f"#bell-tab-{name}")


def rows(page: Page) -> Any:
    return page.locator("#bell-list > li")


async def loaded(page: Page) -> None:
    """The current tab's first page has been answered (not merely asked for)."""
    await expect(page.locator("#bell-tabpanel")).to_have_attribute("aria-busy", "false")


async def wait_for_unread(page: Page, count: int) -> None:
    label = f"Notifications, {count} unread" if count else "Notifications"
    await expect(page.locator("#bell-button")).to_have_attribute(
        "aria-label", label, timeout=BELL_TIMEOUT_MS
    )


async def test_opening_puts_the_dot_out_and_the_items_stay_unread(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await asyncio.to_thread(create_user, stack)
    async with signed_in(stack, chromium_executable, user, artifacts) as page:
        bell, dot = page.locator("#bell-button"), page.locator("#bell-dot")
        await expect(dot).to_be_hidden()
        for topic in ("offer.signed", "inbox.received"):
            await asyncio.to_thread(publish, stack, user, topic)
        await expect(dot).to_be_visible(timeout=BELL_TIMEOUT_MS)
        await wait_for_unread(page, 2)

        def is_seen(request: Request) -> bool:
            return request.method == "POST" and request.url.endswith("/v1/notifications/seen")

        async with page.expect_request(is_seen) as seen:
            await bell.click()
        answer = await (await seen.value).response()
        assert answer is not None
        assert answer.status == 204
        await expect(dot).to_be_hidden()
        unread = page.locator("#bell-list .notification.unread")
        await expect(unread).to_have_count(2)
        weight = await unread.first.locator(".notification-title").evaluate(
            "(title) => getComputedStyle(title).fontWeight"
        )
        assert weight == "700"
        await wait_for_unread(page, 2)

        # The server keeps it: after a reload the dot stays out, the items stay unread.
        await page.reload()
        await expect(page.locator("#settings-heading")).to_be_visible()
        await wait_for_unread(page, 2)
        await expect(dot).to_be_hidden()
        # Seen was a watermark: what arrives later lights the dot again.
        await asyncio.to_thread(publish, stack, user, "offer.signed", offer_number="O-2026-0099")
        await expect(dot).to_be_visible(timeout=BELL_TIMEOUT_MS)


async def test_tabs_show_their_unread_counts_and_filter(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await asyncio.to_thread(create_user, stack)
    # A security item (before the browser logs in: the change ends the other sessions).
    await asyncio.to_thread(change_password, stack, user)
    for topic in ("reminder.created", "peppol.failed", "offer.signed"):
        await asyncio.to_thread(publish, stack, user, topic)
    async with signed_in(stack, chromium_executable, user, artifacts) as page:
        await wait_for_unread(page, 4)
        await expect(tab(page, "action")).to_have_attribute("aria-label", "Action needed, 2 unread")
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information, 1 unread")
        await expect(tab(page, "security")).to_have_attribute("aria-label", "Security, 1 unread")
        await expect(tab(page, "archive")).to_have_attribute("aria-label", "Archive")
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/groups?" in r.url else None)

        # The bell opens on the first tab with something unread.
        await page.locator("#bell-button").click()
        await expect(tab(page, "action")).to_have_attribute("aria-selected", "true")
        await expect(rows(page)).to_have_count(2)
        await expect(rows(page).filter(has_text="2026-0001")).to_have_count(1)
        await expect(rows(page).filter(has_text="CN-2026-0004")).to_have_count(1)
        await tab(page, "info").click()
        await expect(rows(page)).to_have_count(1)
        await expect(rows(page)).to_contain_text("O-2026-0005")
        # Keyboard: the arrows move between the tabs.
        await page.keyboard.press("ArrowRight")
        await expect(tab(page, "security")).to_be_focused()
        await expect(tab(page, "security")).to_have_attribute("aria-selected", "true")
        await expect(rows(page)).to_have_count(1)
        await expect(rows(page)).to_contain_text("Your password was changed")
        await page.keyboard.press("End")
        await expect(tab(page, "archive")).to_have_attribute("aria-selected", "true")
        await expect(page.locator("#bell-empty")).to_have_text("Nothing archived.")
        assert [u for u in asked if "category=info" in u], asked
        assert [u for u in asked if "category=security" in u], asked

        # "Mark all as read" reads the current tab only.
        await tab(page, "action").click()
        await expect(rows(page)).to_have_count(2)
        async with page.expect_request(lambda r: r.url.endswith("/read-all")) as read_all:
            await page.get_by_role("button", name="Mark all as read").click()
        assert json.loads((await read_all.value).post_data or "{}") == {"category": "action"}
        await expect(page.locator("#bell-list .notification.unread")).to_have_count(0)
        await wait_for_unread(page, 2)
        await expect(tab(page, "action")).to_have_attribute("aria-label", "Action needed")
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information, 1 unread")


async def test_a_group_expands_to_its_items(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await asyncio.to_thread(create_user, stack)
    for number in ("2026-0201", "2026-0202", "2026-0203"):
        await asyncio.to_thread(
            publish, stack, user, "subscription.invoiced", invoice_number=number
        )
    async with signed_in(stack, chromium_executable, user, artifacts) as page:
        await wait_for_unread(page, 3)
        await page.locator("#bell-button").click()
        await expect(tab(page, "info")).to_have_attribute("aria-selected", "true")
        group = page.locator("#bell-list > li.group-row")
        await expect(rows(page)).to_have_count(1)
        await expect(group.locator(".group-count")).to_have_text("3")
        summary = group.locator("button.group")
        await expect(summary).to_have_attribute("aria-expanded", "false")
        await expect(summary).to_have_class(re.compile(r"\bunread\b"))

        async with page.expect_request(lambda r: "group=" in r.url) as listed:
            await summary.click()
        key = group_key_of((await listed.value).url)
        await expect(group).to_have_attribute("data-group", key)
        await expect(summary).to_have_attribute("aria-expanded", "true")
        items = group.locator(".group-items .notification")
        await expect(items).to_have_count(3)
        for number in ("2026-0201", "2026-0202", "2026-0203"):
            await expect(items.filter(has_text=number)).to_have_count(1)

        # "Mark these as read" reads the group: {group: KEY}.
        async with page.expect_request(lambda r: r.url.endswith("/read-all")) as read_all:
            await group.get_by_role("button", name="Mark these as read").click()
        assert json.loads((await read_all.value).post_data or "{}") == {"group": key}
        await expect(group.locator(".notification.unread")).to_have_count(0)
        await wait_for_unread(page, 0)
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information")
        # Collapsing hides the items again.
        await summary.click()
        await expect(summary).to_have_attribute("aria-expanded", "false")
        await expect(items).to_have_count(0)


def group_key_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["group"][0]


async def test_archive_takes_an_item_out_of_the_list_and_the_counts(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await asyncio.to_thread(create_user, stack)
    await asyncio.to_thread(publish, stack, user, "reminder.created", invoice_number="2026-0101")
    await asyncio.to_thread(publish, stack, user, "mail.failed")
    async with signed_in(stack, chromium_executable, user, artifacts) as page:
        await wait_for_unread(page, 2)
        await page.locator("#bell-button").click()
        await expect(rows(page)).to_have_count(2)
        reminder = rows(page).filter(has_text="2026-0101")
        await reminder.get_by_role("button", name=re.compile("^Archive")).click()
        await expect(reminder).to_have_count(0)
        await expect(rows(page)).to_have_count(1)
        await wait_for_unread(page, 1)
        await expect(tab(page, "action")).to_have_attribute("aria-label", "Action needed, 1 unread")

        # The archive shows it; restoring puts it back with its unread state.
        # (The sign-in alert archived before the test is there too: NEW_SIGN_IN_ALERTS.)
        await tab(page, "archive").click()
        await expect(rows(page)).to_have_count(1 + NEW_SIGN_IN_ALERTS)
        archived = rows(page).filter(has_text="2026-0101")
        await expect(archived).to_have_count(1)
        await archived.get_by_role("button", name=re.compile("^Restore")).click()
        await expect(archived).to_have_count(0)
        await expect(rows(page)).to_have_count(int(NEW_SIGN_IN_ALERTS))
        if not NEW_SIGN_IN_ALERTS:
            await expect(page.locator("#bell-empty")).to_have_text("Nothing archived.")
        await wait_for_unread(page, 2)
        await tab(page, "action").click()
        await expect(rows(page)).to_have_count(2)


async def test_an_item_read_can_be_marked_unread_again(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await new_user(stack, "offer.signed")
    async with signed_in(stack, chromium_executable, user, artifacts) as page:
        await wait_for_unread(page, 1)
        await page.locator("#bell-button").click()
        item = page.locator("#bell-list .notification").first
        await expect(item).to_have_class("notification unread")
        async with page.expect_request(lambda r: r.url.endswith("/read")):
            await item.click()
        await expect(item).to_have_class("notification")
        await wait_for_unread(page, 0)
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information")

        def is_unread(request: Request) -> bool:
            return request.method == "POST" and request.url.endswith("/unread")

        async with page.expect_request(is_unread):
            await rows(page).get_by_role("button", name=re.compile("as unread$")).click()
        await expect(item).to_have_class("notification unread")
        await wait_for_unread(page, 1)
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information, 1 unread")


async def test_preferences_mute_a_type_and_show_locked_types_locked(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await new_user(stack, "offer.signed", "reminder.created")
    refusal = "status of 422"  # the hand-made call below
    async with signed_in(
        stack, chromium_executable, user, artifacts, expected_error=refusal
    ) as page:
        await wait_for_unread(page, 2)
        await page.locator("#bell-button").click()
        settings = page.get_by_role("button", name="Notification settings")
        await settings.click()
        await expect(settings).to_have_attribute("aria-expanded", "true")
        offers = page.get_by_label("Offers signed online")
        reminders = page.get_by_label("Reminders sent")
        password = page.get_by_label("Password changed", exact=True)
        await expect(offers).to_be_checked()
        await expect(offers).to_be_enabled()
        for locked, reason in [
            (reminders, "Always shown: it asks you to do something."),
            (password, "Always shown: it concerns the security of your account."),
        ]:
            await expect(locked).to_be_disabled()
            await expect(locked).to_be_checked()
            await expect(locked).to_have_accessible_description(reason)

        await offers.uncheck()
        async with page.expect_request(lambda r: r.method == "PUT") as saved:
            await page.get_by_role("button", name="Save").click()
        assert json.loads((await saved.value).post_data or "{}") == {"muted": ["offer.signed"]}
        await expect(page.locator("#bell-prefs-status")).to_have_text(
            "Your notification settings were saved."
        )
        await wait_for_unread(page, 1)
        await settings.click()
        await tab(page, "info").click()
        await loaded(page)
        await expect(rows(page)).to_have_count(0)
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information")

        # Shown again, the muted item comes back.
        await settings.click()
        await expect(offers).not_to_be_checked()
        await offers.check()
        await page.get_by_role("button", name="Save").click()
        await wait_for_unread(page, 2)
        await settings.click()
        await expect(tab(page, "info")).to_have_attribute("aria-label", "Information, 1 unread")
        await tab(page, "info").click()
        await expect(rows(page)).to_have_count(1)

        # A locked type cannot be muted, even by a hand-made call: 422, nothing changes.
        refused = await page.evaluate(
            """async () => {
                const { savePreferences } = await import("/static/bell-api.js");
                try { await savePreferences(["reminder.created"]); return null; }
                catch (error) { return { status: error.status, type: error.problem.type }; }
            }"""
        )
        assert refused is not None
        assert refused["status"] == 422, refused
        assert refused["type"].startswith("https://"), refused
        await wait_for_unread(page, 2)


async def test_long_polling_brings_a_notification_without_reload(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    user = await asyncio.to_thread(create_user, stack)
    async with signed_in(stack, chromium_executable, user, artifacts) as page:
        polls: list[Request] = []
        page.on("request", lambda r: polls.append(r) if UNREAD_COUNT.search(r.url) else None)
        answered: set[Request] = set()
        for event in ("requestfinished", "requestfailed"):
            page.on(event, lambda r: answered.add(r) if UNREAD_COUNT.search(r.url) else None)
        applied: list[str] = []
        page.on(
            "response",
            lambda r: (
                applied.append(r.headers.get("preference-applied", ""))
                if UNREAD_COUNT.search(r.url)
                else None
            ),
        )
        await page.locator("#bell-button").click()
        await expect(page.locator("#bell-empty")).to_be_visible()

        started = time.monotonic()
        # The bell is open on "Action needed" (nothing is unread anywhere): a reminder.
        await asyncio.to_thread(publish, stack, user, "reminder.created")
        items = page.locator("#bell-list .notification")
        await expect(items).to_have_count(1, timeout=LONG_POLL_BOUND_MS)
        assert time.monotonic() - started < POLL_INTERVAL
        await expect(items.first).to_contain_text("2026-0001")
        waited = [r for r in polls if r.headers.get("prefer") == "wait=25"]
        assert waited, [r.headers for r in polls]
        assert all("if-none-match" in r.headers for r in waited)
        # The answer that brought it was a held one.
        assert "wait=25" in applied, applied

        # Hidden, the tab drops the request it has held (AbortController). (Between two polls
        # there may be up to a second without one: then wait for the next.)
        if all(poll in answered for poll in polls):
            await page.wait_for_event("request", lambda r: bool(UNREAD_COUNT.search(r.url)))
        async with page.expect_event(
            "requestfailed", lambda r: bool(UNREAD_COUNT.search(r.url))
        ) as dropped:
            await page.evaluate(HIDE)
        assert (await dropped.value).failure is not None

        # Shown again, it asks at once (and that request is held); logging out drops it too.
        async with page.expect_request(lambda r: bool(UNREAD_COUNT.search(r.url))):
            await page.evaluate(SHOW)
        async with page.expect_event(
            "requestfailed", lambda r: bool(UNREAD_COUNT.search(r.url))
        ) as dropped:
            await page.get_by_role("button", name="Log out").click()
        assert (await dropped.value).failure is not None
        await expect(page.locator("#login-heading")).to_be_visible()


async def test_without_preference_applied_it_polls_every_x_poll_interval(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    """A server that does not hold the request (an older one, or one past its cap) answers at
    once without Preference-Applied: simulated by taking Prefer out on the way in, and the
    interval made 2 s on the way out. The client waits that long between polls."""
    seen_prefer: list[str | None] = []
    started: list[float] = []
    enough = asyncio.Event()

    async def without_long_polling(route: Route) -> None:
        if route.request.method != "GET":
            await route.continue_()  # a CORS preflight
            return
        headers = await route.request.all_headers()
        seen_prefer.append(headers.pop("prefer", None))
        started.append(time.monotonic())
        if len(started) >= 5:
            enough.set()
        response = await route.fetch(headers=headers)
        answer = {k: v for k, v in response.headers.items() if k.lower() != "preference-applied"}
        answer["x-poll-interval"] = "2"
        await route.fulfill(response=response, headers=answer)

    user = await asyncio.to_thread(create_user, stack)
    async with signed_in(
        stack, chromium_executable, user, artifacts, route=without_long_polling
    ) as page:
        await asyncio.wait_for(enough.wait(), timeout=30)
        # The first answer (a 200) is followed at once; from then on, every 2 s.
        gaps = [b - a for a, b in itertools.pairwise(started[1:])]
        assert all(gap >= 1.5 for gap in gaps), gaps
        assert all(prefer == "wait=25" for prefer in seen_prefer[1:]), seen_prefer
        await asyncio.to_thread(publish, stack, user, "inbox.received")
        await wait_for_unread(page, 1)


def test_every_bell_string_exists_in_all_four_languages() -> None:
    """The bell's modules use only keys that i18n.js has in every language."""
    source = (STATIC / "i18n.js").read_text()
    blocks = re.split(r"^  (nl|fr|en|de): \{$", source, flags=re.MULTILINE)[1:]
    # i18n.js has several string tables (the app's, the Security section's), each with the four
    # languages: a language's keys are those of all its blocks.
    keys: dict[str, set[str]] = {}
    for language, body in zip(blocks[::2], blocks[1::2], strict=True):
        keys.setdefault(language, set()).update(
            re.findall(r"^    (\w+):", body, flags=re.MULTILINE)
        )
    assert keys["nl"] == keys["fr"] == keys["de"] == keys["en"]
    scripts = "".join(path.read_text() for path in sorted(STATIC.glob("bell*.js")))
    used = set(re.findall(r'\bt\("(\w+)"', scripts))
    used |= set(re.findall(r'"((?:tab|bell)_\w+)"', scripts))
    # Every type the preferences list has its label.
    used |= {f"type_{name.replace('.', '_')}" for name in ALL_TYPES}
    assert len(used) > 30
    assert used <= keys["en"], used - keys["en"]
