"""The reference web client in Debian's Chromium against `clochette dev`, as a user would use
it: log in, switch language, change the password, turn 2FA on, log in again with a code, see a
Kafka event arrive in the bell, read it, page through the list, turn 2FA off."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.pages import (
    BELL_TIMEOUT_MS,
    Profiles,
    chromium,
    finish_two_factor,
    log_in,
    new_page,
    start_two_factor,
)
from tests.browser.stack import Stack
from tests.e2e.test_dev_command import dev_environment, start_dev

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(240)]

NEW_PASSWORD = "lemon trees by the old canal in Ghent"
PAGE_SIZE = 10
PHONE_WIDTH = 390
EXPECTED_401 = "status of 401"
# "New sign-in to your account" (the first login of this browser came without a device token),
# "Your password was changed" and "Two-factor authentication was turned on".
SECURITY_NOTIFICATIONS = 3


async def switch_language(page: Page, language: str, heading: str) -> None:
    await page.locator("#language").select_option(language)
    await expect(page.locator("#settings-heading")).to_have_text(heading)
    await expect(page.locator("html")).to_have_attribute("lang", language)
    await expect(page.locator("#language-status")).not_to_be_empty()


async def change_password(page: Page, current: str) -> None:
    await page.get_by_label("Current password").fill(current)
    new = page.get_by_label("New password", exact=True)
    meter = page.locator("#quality-meter")
    # The meter follows the typing: a weak password first, then the real one.
    await new.fill("password1")
    await expect(meter).to_have_attribute("data-score", "0")
    await expect(page.locator("#quality-text")).to_have_text("Very weak")
    await new.fill(NEW_PASSWORD)
    await expect(meter).to_have_attribute("data-score", "4")
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#password-status")).to_have_text(
        "Your password was changed. Your other sessions were logged out."
    )


async def fits_a_phone(page: Page) -> None:
    """At 390 px nothing scrolls sideways and the open bell's list stays on the screen."""
    await page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    overflow = await page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= PHONE_WIDTH, overflow
    box = await page.locator("#bell-panel").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE_WIDTH
    await page.set_viewport_size({"width": 1280, "height": 900})


HIDE = """() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
    delete document.hidden;
    document.dispatchEvent(new Event("visibilitychange"));
}"""


async def polling_pauses_while_hidden(page: Page) -> None:
    """A hidden tab stops polling (Page Visibility API); shown again, it polls at once. The
    page is told it is hidden the way the browser would tell it (headless tabs never are)."""
    polls: list[str] = []

    def count(request: Request) -> None:
        if request.url.endswith("/v1/notifications/unread-count"):
            polls.append(request.url)

    await page.evaluate(HIDE)
    page.on("request", count)
    # Three poll intervals (NOTIFIER_POLL_INTERVAL=1): a visible tab would poll three times.
    await page.wait_for_timeout(3_000)
    page.remove_listener("request", count)
    assert len(polls) <= 1, polls  # at most the one already under way
    async with page.expect_request(lambda r: r.url.endswith("/unread-count"), timeout=5_000):
        await page.evaluate(SHOW)


APOSTROPHE = "\N{RIGHT SINGLE QUOTATION MARK}"
# The page's own words for the refusals of the step-up and the SMS budget, in each language.
REFUSAL_MESSAGES = {
    "en": [
        "Two-factor authentication is on: also enter a code from your authenticator app or a "
        "recovery code.",
        "Two-factor authentication is already off.",
        "Too many codes were sent to this number. You can ask again in 5 minutes.",
        "Your organisation has asked for too many codes. You can ask again in 2 hours.",
    ],
    "nl": [
        "Tweestapsverificatie staat aan: geef ook een code uit je authenticator-app of een "
        "herstelcode in.",
        "Tweestapsverificatie staat al uit.",
        "Er werden te veel codes naar dit nummer gestuurd. Je kunt over 5 minuten opnieuw een "
        "code vragen.",
        "Je organisatie heeft te veel codes gevraagd. Je kunt over 2 uur opnieuw een code vragen.",
    ],
    "fr": [
        f"L{APOSTROPHE}authentification à deux facteurs est activée : saisissez aussi un code "
        "de votre application ou un code de récupération.",
        f"L{APOSTROPHE}authentification à deux facteurs est déjà désactivée.",
        "Trop de codes ont été envoyés à ce numéro. Vous pourrez en redemander un dans 5 minutes.",
        "Votre organisation a demandé trop de codes. Vous pourrez en redemander un dans 2 heures.",
    ],
    "de": [
        "Die Zwei-Faktor-Authentifizierung ist aktiv: Geben Sie auch einen Code aus Ihrer App "
        "oder einen Wiederherstellungscode ein.",
        "Die Zwei-Faktor-Authentifizierung ist bereits ausgeschaltet.",
        "An diese Nummer wurden zu viele Codes gesendet. Sie können in 5 Minuten erneut einen "
        "anfordern.",
        "Ihre Organisation hat zu viele Codes angefordert. Sie können in 2 Stunden erneut einen "
        "anfordern.",
    ],
}


async def refusal_messages(page: Page) -> dict[str, list[str]]:
    """What the settings page says for each new refusal, in the four languages."""
    messages: dict[str, list[str]] = await page.evaluate(
        """async () => {
            const { describe } = await import("/static/settings.js");
            const { language, setLanguage } = await import("/static/i18n.js");
            const before = language();
            const refusals = [
                { status: 401, slug: "second-factor-required", problem: {} },
                { status: 409, slug: "two-factor-not-enabled", problem: {} },
                { status: 429, slug: "sms-limit-reached", retryAfter: 300,
                  problem: { limit: "number_hourly" } },
                { status: 429, slug: "sms-limit-reached", retryAfter: 7200,
                  problem: { limit: "organization_daily" } },
            ];
            const out = {};
            for (const lang of ["en", "nl", "fr", "de"]) {
                setLanguage(lang);
                out[lang] = refusals.map((error) => describe(error));
            }
            setLanguage(before);
            return out;
        }"""
    )
    return messages


async def test_the_whole_journey(stack: Stack, chromium_executable: str, artifacts: Path) -> None:
    email, password = stack.demo_login()
    async with chromium(chromium_executable) as browser:
        page = await new_page(browser)
        profiles = Profiles(page)
        problems: list[str] = []
        # Script errors and CSP or Trusted Types violations fail the test; the 401 of the wrong
        # code typed on purpose is the one error the browser may log.
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and EXPECTED_401 not in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        login_bodies: list[dict[str, Any]] = []
        page.on(
            "request",
            lambda r: (
                login_bodies.append(json.loads(r.post_data or "{}"))
                if r.method == "POST" and "/v1/auth/login" in r.url
                else None
            ),
        )
        badge_statuses: list[int] = []
        page.on(
            "response",
            lambda r: (
                badge_statuses.append(r.status)
                if r.url.endswith("/v1/notifications/unread-count")
                else None
            ),
        )
        validators: list[str] = []
        page.on(
            "request",
            lambda r: (
                validators.append(r.headers.get("if-none-match", ""))
                if r.url.endswith("/v1/notifications/unread-count")
                else None
            ),
        )
        try:
            # Log in with the demo login; the e-mail is shown read-only with the explanation.
            assert await log_in(page, stack, email, password)
            # The browser keeps the login's device token (not a credential) for the next logins.
            device = await page.evaluate("() => localStorage.getItem('clochette.device_token')")
            assert device is not None
            assert device.startswith("cld_"), device
            await expect(page.locator("#email")).to_have_value(email)
            await expect(page.locator("#email")).to_have_attribute("readonly", "")
            await expect(page.locator("#email-explain")).to_contain_text("administrator")

            # The page switches language with the setting; back to English for the rest.
            await switch_language(page, "nl", "Persoonlijke instellingen")
            await expect(page.locator("#email-explain")).to_contain_text("beheerder")
            await switch_language(page, "de", "Persönliche Einstellungen")
            await switch_language(page, "en", "Personal settings")

            await change_password(page, password)

            # 2FA: SMS code from the dev log, TOTP computed here, recovery codes shown once.
            secret = await start_two_factor(page, stack)
            recovery = await finish_two_factor(page, secret)
            assert len(set(recovery)) == 10
            await expect(page.locator("#two-factor-on")).to_contain_text("+32470123456")

            # Log out; log in again with the password and the next TOTP code (the activation
            # code's step is used up: a code is never accepted twice).
            await page.get_by_role("button", name="Log out").click()
            await expect(page.locator("#login-heading")).to_be_visible()
            assert not await log_in(page, stack, email, NEW_PASSWORD)
            await page.locator("#mfa-code").fill("000000")
            await page.get_by_role("button", name="Verify").click()
            await expect(page.locator("#mfa-error")).to_have_text("That code is not valid.")
            next_code = pyotp.TOTP(secret).at(time.time() + 30)
            await page.locator("#mfa-code").fill(next_code)
            await page.get_by_role("button", name="Verify").click()
            await expect(page.locator("#settings-heading")).to_be_visible()
            me = profiles.latest
            assert me["two_factor"]["enabled"] is True
            # The password step and every code sent the device token of the first login.
            assert [b.get("device_token") for b in login_bodies[1:]] == [device] * 3

            # The password change and the new 2FA were notified (auth.users → notifier).
            bell = page.locator("#bell-button")
            dot = page.locator("#bell-dot")
            items = page.locator("#bell-list .notification")
            await expect(dot).to_be_visible(timeout=BELL_TIMEOUT_MS)
            await bell.click()
            await expect(items).to_have_count(SECURITY_NOTIFICATIONS, timeout=BELL_TIMEOUT_MS)
            await expect(page.locator("#bell-heading")).to_be_focused()
            await page.get_by_role("button", name="Mark all as read").click()
            await expect(dot).to_be_hidden(timeout=BELL_TIMEOUT_MS)
            await bell.click()
            await expect(bell).to_have_attribute("aria-expanded", "false")

            # A payment published on Kafka shows up in the bell within the poll interval.
            await asyncio.to_thread(
                stack.publish, "payment.received", me["organization_id"], me["id"]
            )
            await expect(dot).to_be_visible(timeout=BELL_TIMEOUT_MS)
            await expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
            await bell.click()
            await expect(bell).to_have_attribute("aria-expanded", "true")
            first = items.first
            await expect(page.locator("#bell-list .notification.unread")).to_have_count(1)
            await expect(first).to_have_class("notification unread")
            await expect(first).to_contain_text("2026-0003")
            await expect(first.locator("time")).to_have_text("now")

            # Clicking it marks it read: the unread styling and the red dot go away.
            await first.click()
            await expect(first).to_have_class("notification")
            await expect(dot).to_be_hidden(timeout=BELL_TIMEOUT_MS)

            # More than a page of payments arrives while the list is open: it refreshes and
            # folds them with the first into the day's group, whose items page with next_cursor;
            # "mark all as read" (of the tab) clears the dot.
            for _ in range(PAGE_SIZE + 1):
                await asyncio.to_thread(
                    stack.publish, "payment.received", me["organization_id"], me["id"]
                )
            await expect(dot).to_be_visible(timeout=BELL_TIMEOUT_MS)
            await expect(bell).to_have_attribute(
                "aria-label", f"Notifications, {PAGE_SIZE + 1} unread", timeout=BELL_TIMEOUT_MS
            )
            group = page.locator("#bell-list > li.group-row")
            await expect(group.locator(".group-count")).to_have_text(str(PAGE_SIZE + 2))
            await group.locator("button.group").click()
            await expect(group.locator(".group-items .notification")).to_have_count(PAGE_SIZE)
            await page.get_by_role("button", name="Show older notifications").click()
            await expect(group.locator(".group-items .notification")).to_have_count(PAGE_SIZE + 2)
            await expect(
                group.get_by_role("button", name="Show older notifications")
            ).to_be_hidden()
            await fits_a_phone(page)
            await page.get_by_role("button", name="Mark all as read").click()
            await expect(page.locator("#bell-list .notification.unread")).to_have_count(0)
            await expect(dot).to_be_hidden(timeout=BELL_TIMEOUT_MS)

            # Escape closes the list and gives the focus back to the bell.
            await page.keyboard.press("Escape")
            await expect(page.locator("#bell-panel")).to_be_hidden()
            await expect(bell).to_be_focused()

            await polling_pauses_while_hidden(page)

            # New recovery codes need the password and a second factor (here a recovery code).
            await page.get_by_role("button", name="New recovery codes").click()
            await page.locator("#renew-password").fill(NEW_PASSWORD)
            await page.get_by_role("button", name="Create new recovery codes").click()
            await expect(page.locator("#two-factor-error")).to_contain_text(
                "also enter a code from your authenticator app"
            )
            await page.locator("#renew-code").fill(recovery[0])
            await page.get_by_role("button", name="Create new recovery codes").click()
            renewed_codes = page.locator("#recovery-codes li")
            await expect(renewed_codes).to_have_count(10)
            renewed = [text.strip() for text in await renewed_codes.all_inner_texts()]
            assert not set(renewed) & set(recovery)
            await page.get_by_role("button", name="I have saved my codes").click()

            # Deactivate 2FA (red button, asks the password and a code).
            await page.get_by_role("button", name="Deactivate", exact=True).click()
            await page.locator("#deactivate-password").fill(NEW_PASSWORD)
            await page.locator("#deactivate-code").fill(renewed[0])
            await page.get_by_role("button", name="Deactivate two-factor authentication").click()
            await expect(page.locator("#two-factor-status")).to_have_text(
                "Two-factor authentication is now off."
            )
            await expect(page.get_by_role("button", name="Activate", exact=True)).to_be_visible()
            assert await refusal_messages(page) == REFUSAL_MESSAGES
            assert not problems, problems
            # Conditional polling worked cross-origin: the ETag was readable and sent back (a
            # long poll is held on it; a 304 comes only after a quiet wait of 25 s).
            assert any(validators), validators
            assert 200 in badge_statuses, badge_statuses
        except BaseException:
            await page.screenshot(path=artifacts / "failure.png", full_page=True)
            sys.stderr.write(f"screenshot: {artifacts / 'failure.png'}\n{stack.tail()}\n")
            raise


def test_dev_serves_the_client_and_lets_only_its_origin_call(stack: Stack) -> None:
    banner = "\n".join(stack.run.lines)
    assert f"web client        {stack.web_url}" in banner
    page = httpx.get(stack.web_url, timeout=10)
    assert page.status_code == 200
    assert (
        "connect-src 'self' " + " ".join(sorted([stack.auth_url, stack.notifier_url]))
        in (page.headers["content-security-policy"])
    )
    config = httpx.get(f"{stack.web_url}/config.json", timeout=10).json()
    assert (config["auth_url"], config["notifier_url"]) == (stack.auth_url, stack.notifier_url)

    poll = f"{stack.notifier_url}/v1/notifications/unread-count"
    preflight = {"Access-Control-Request-Method": "GET"}
    allowed = httpx.options(poll, headers={"Origin": stack.web_url, **preflight}, timeout=10)
    assert allowed.headers["access-control-allow-origin"] == stack.web_url
    other = httpx.options(poll, headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    login = f"{stack.auth_url}/v1/auth/login"
    answer = httpx.post(login, json={}, headers={"Origin": stack.web_url}, timeout=10)
    assert answer.headers["access-control-allow-origin"] == stack.web_url
    assert "Retry-After" in answer.headers["access-control-expose-headers"]
    answer = httpx.post(login, json={}, headers={"Origin": "https://evil.example"}, timeout=10)
    assert "access-control-allow-origin" not in answer.headers


def test_a_busy_web_port_gets_the_same_clear_message(tmp_path: Path) -> None:
    env = dev_environment(tmp_path / "home")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        env["WEB_APP_BASE_URL"] = f"http://127.0.0.1:{blocker.getsockname()[1]}"
        run = start_dev(env)
        assert run.process.wait(60) != 0
    run.wait_for("already in use", timeout=5)
    output = "\n".join(run.lines)
    assert env["WEB_APP_BASE_URL"].removeprefix("http://") in output
    assert "WEB_APP_BASE_URL" in output
    assert "Traceback" not in output
