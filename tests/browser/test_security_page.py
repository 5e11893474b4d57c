"""The settings page's Security section in Debian's Chromium against `clochette dev`: the
sessions (the current one marked, end another, end all others, the ended ones' refresh tokens
refused at once), the security history, and passkeys made and used by a virtual authenticator
of the DevTools protocol (registration, the login's passkey step, removal with step-up)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, Request, expect

from tests.browser.pages import (
    FIREFOX_WINDOWS,
    IPHONE,
    VirtualAuthenticator,
    add_passkey,
    api_login,
    chromium,
    log_in,
    new_page,
    new_user,
    refresh_session,
)
from tests.browser.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(240)]

RECOVERY_CODES = 10
# A browser without the WebAuthn JSON helpers: webauthn.js then encodes and decodes by hand.
WITHOUT_JSON_HELPERS = """() => {
    delete PublicKeyCredential.parseCreationOptionsFromJSON;
    delete PublicKeyCredential.parseRequestOptionsFromJSON;
    delete PublicKeyCredential.prototype.toJSON;
    return typeof PublicKeyCredential.prototype.toJSON;
}"""
HISTORY_PAGE = 10
# Logins of scripts (curl) besides the phone and the laptop: with this browser's, ten sessions,
# so that their sign-ins and ends fill more than one page of the history.
SCRIPT_LOGINS = 7
CURL = "curl/8.5.0"


def watch_console(page: Page, *expected: str) -> list[str]:
    """Script errors and CSP or Trusted Types violations, collected to fail the test; the
    browser's log line for an answer refused on purpose (`expected`, e.g. "status of 409") is
    left out."""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not any(text in m.text for text in expected)
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


async def failed(page: Page, stack: Stack, artifacts: Path) -> None:
    await page.screenshot(path=artifacts / "failure.png", full_page=True)
    sys.stderr.write(f"screenshot: {artifacts / 'failure.png'}\n{stack.tail()}\n")


async def test_sessions_one_ended_then_all_others(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    email, password = await new_user(stack)
    # Other devices log in first: a phone, a laptop and a few scripts.
    phone = await api_login(stack, email, password, IPHONE)
    laptop = await api_login(stack, email, password, FIREFOX_WINDOWS)
    for _ in range(SCRIPT_LOGINS):
        await api_login(stack, email, password, CURL)
    sessions = SCRIPT_LOGINS + 3
    async with chromium(chromium_executable) as browser:
        page = await new_page(browser)
        problems = watch_console(page)
        try:
            assert await log_in(page, stack, email, password)
            rows = page.locator("#sessions-list li")
            await expect(rows).to_have_count(sessions)
            # This browser's session is marked and cannot be ended from here (log out does).
            current = rows.filter(has=page.locator(".badge"))
            await expect(current).to_have_count(1)
            await expect(current).to_contain_text("This device")
            await expect(current).to_contain_text("Last active now")
            await expect(current).to_contain_text("password only")
            await expect(current).to_contain_text("Chrome")
            await expect(rows.filter(has_text="iOS")).to_have_count(1)
            await expect(current.get_by_role("button")).to_have_count(0)
            await expect(rows.first).to_contain_text("This device")  # newest use first

            # End the laptop's session: it leaves the list, its refresh token stops at once,
            # the phone's still works.
            firefox = rows.filter(has_text="Firefox")
            await expect(firefox).to_have_count(1)
            await firefox.get_by_role("button", name="End the session on").click()
            await expect(rows).to_have_count(sessions - 1)
            await expect(rows.filter(has_text="Firefox")).to_have_count(0)
            await expect(page.locator("#sessions-status")).to_have_text(
                "The session was ended: that device must log in again."
            )
            assert (await refresh_session(stack, laptop["refresh_token"]))[0] == 401
            status, phone = await refresh_session(stack, phone["refresh_token"])
            assert status == 200

            # End all other sessions: only this one is left, and the phone is logged out.
            await page.get_by_role("button", name="End all other sessions").click()
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_contain_text("This device")
            await expect(page.locator("#sessions-status")).to_have_text(
                "All other sessions were ended."
            )
            await expect(page.get_by_role("button", name="End all other sessions")).to_be_hidden()
            assert (await refresh_session(stack, phone["refresh_token"]))[0] == 401

            # The history tells every sign-in and every session ended, newest first, a page
            # at a time.
            events = page.locator("#history-list li")
            await expect(events).to_have_count(HISTORY_PAGE)
            await expect(events.first).to_have_attribute("data-type", "session_ended")
            await expect(events.first.locator("strong")).to_have_text("Session ended")
            await expect(events.first).to_contain_text("Chrome")
            more = page.get_by_role("button", name="Show older events")
            await more.click()
            await expect(events).to_have_count(2 * sessions - 1)
            await expect(more).to_be_hidden()
            types = [await item.get_attribute("data-type") for item in await events.all()]
            assert types.count("sign_in") == sessions, types
            assert types.count("session_ended") == sessions - 1, types
            await expect(events.last).to_have_attribute("data-type", "sign_in")
            await expect(events.last).to_contain_text("iOS")
            for item in await events.all():
                await expect(item.locator("time")).to_have_attribute("datetime", re.compile("."))

            # The link of the security notifications opens the page at this section.
            await page.goto(f"{stack.web_url}/settings/security")
            await expect(page.locator("#security-heading")).to_be_focused()
            await expect(page.locator("#sessions-list li")).to_have_count(1)
            assert not problems, problems
        except BaseException:
            await failed(page, stack, artifacts)
            raise


async def use_passkey_at_login(page: Page, stack: Stack, email: str, password: str) -> None:
    """Password, then "Use a passkey" at the second step; the settings page opens."""
    assert not await log_in(page, stack, email, password)
    await expect(page.locator("#mfa-passkey-option")).to_be_visible()
    await page.get_by_role("button", name="Use a passkey").click()
    await expect(page.locator("#settings-heading")).to_be_visible()


async def test_passkeys_added_used_at_login_and_removed(
    stack: Stack, chromium_executable: str, artifacts: Path
) -> None:
    email, password = await new_user(stack)
    async with chromium(chromium_executable) as browser:
        page = await new_page(browser)
        # The step-up asked for on purpose (401), the last factor kept (409).
        problems = watch_console(page, "status of 401", "status of 409")
        second_steps: list[dict[str, Any]] = []

        def record(request: Request) -> None:
            if request.method == "POST" and request.url.endswith("/v1/auth/login/2fa"):
                second_steps.append(json.loads(request.post_data or "{}"))

        page.on("request", record)
        laptop = await VirtualAuthenticator.attach(page)
        try:
            assert await log_in(page, stack, email, password)
            device = await page.evaluate("() => localStorage.getItem('clochette.device_token')")
            passkeys = page.locator("#passkeys-list li")
            await expect(page.locator("#passkeys-empty")).to_be_visible()

            # 2FA is off: a name is all it takes; the first passkey turns 2FA on and its
            # recovery codes are shown once.
            recovery = await add_passkey(page, "Work laptop")
            assert len(set(recovery)) == RECOVERY_CODES, recovery
            assert len(await laptop.credential_ids()) == 1
            await expect(passkeys).to_have_count(1)
            await expect(passkeys.first).to_contain_text("Work laptop")
            await expect(passkeys.first).to_contain_text("never used")
            await expect(page.get_by_role("button", name="Deactivate", exact=True)).to_be_visible()

            # Log out; the password, then the passkey instead of a code.
            await page.get_by_role("button", name="Log out").click()
            await use_passkey_at_login(page, stack, email, password)
            assert len(second_steps) == 1
            assert [second_steps[0]["passkey"]["id"]] == await laptop.credential_ids()
            assert second_steps[0]["device_token"] == device
            assert "code" not in second_steps[0]
            await expect(passkeys.first).to_contain_text("last used now")
            current = page.locator("#sessions-list li").filter(has=page.locator(".badge"))
            await expect(current).to_contain_text("with a second factor")

            # The laptop is lost; a passkey on the phone needs the password and a second
            # factor now that 2FA is on: without the code, the page says what is missing. From
            # here on the page has no WebAuthn JSON helpers (the service checks its encoding).
            await laptop.remove()
            assert await page.evaluate(WITHOUT_JSON_HELPERS) == "undefined"
            phone = await VirtualAuthenticator.attach(page)
            card = page.locator("#passkeys")
            await card.get_by_role("button", name="Add a passkey").click()
            await expect(page.locator("#passkey-add-password")).to_be_visible()
            await card.get_by_label("Name of the passkey").fill("Phone")
            await page.locator("#passkey-add-password").fill(password)
            await card.get_by_role("button", name="Create the passkey").click()
            await expect(page.locator("#passkeys-error")).to_have_text(
                "Two-factor authentication is on: also enter a code from your authenticator "
                "app or a recovery code."
            )
            assert await phone.credential_ids() == []
            await card.get_by_role("button", name="Cancel").click()
            assert await add_passkey(page, "Phone", password, recovery[0]) == []
            assert len(await phone.credential_ids()) == 1
            await expect(passkeys).to_have_count(2)

            # Remove the lost laptop's passkey: password and a recovery code.
            lost = passkeys.filter(has_text="Work laptop")
            await lost.get_by_role("button", name="Remove the passkey Work laptop").click()
            await expect(page.locator("#passkey-remove-explain")).to_contain_text("Work laptop")
            await page.locator("#passkey-remove-password").fill(password)
            await page.locator("#passkey-remove-code").fill(recovery[1])
            await card.get_by_role("button", name="Remove the passkey", exact=True).click()
            await expect(page.locator("#passkeys-status")).to_have_text(
                "The passkey “Work laptop” was removed."
            )
            await expect(passkeys).to_have_count(1)
            await expect(passkeys.first).to_contain_text("Phone")

            # The last second factor is kept: the service's problem is shown by its detail.
            await passkeys.first.get_by_role("button", name="Remove the passkey Phone").click()
            await page.locator("#passkey-remove-password").fill(password)
            await page.locator("#passkey-remove-code").fill(recovery[2])
            async with page.expect_response(
                lambda r: r.request.method == "DELETE" and "/v1/me/2fa/passkeys/" in r.url
            ) as refused:
                await card.get_by_role("button", name="Remove the passkey", exact=True).click()
            answer = await refused.value
            assert answer.status == 409
            detail = (await answer.json())["detail"]
            await expect(page.locator("#passkeys-error")).to_have_text(detail)
            await expect(passkeys).to_have_count(1)

            # The phone's passkey logs in (the assertion encoded by hand).
            await page.get_by_role("button", name="Log out").click()
            await use_passkey_at_login(page, stack, email, password)
            await expect(passkeys.first).to_contain_text("last used now")
            assert not problems, problems
        except BaseException:
            await failed(page, stack, artifacts)
            raise
