"""Screenshots of the reference web client for the docs, from a real `clochette dev`:

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots]

The settings page, the two-factor QR step, the open bell, the bell's preferences, the Security
section and the login's passkey step, each at desktop (1280 px) and phone (390 px) width, as PNG
files named `<view>-<desktop|phone>.png`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.pages import (
    BELL_TIMEOUT_MS,
    FIREFOX_WINDOWS,
    IPHONE,
    BellUser,
    Profiles,
    VirtualAuthenticator,
    add_passkey,
    api_login,
    chromium,
    log_in,
    new_page,
    publish,
    start_two_factor,
)
from tests.browser.stack import Stack, chromium_path, running_stack

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
EVENTS: list[tuple[str, dict[str, str]]] = [
    ("reminder.created", {}),
    ("subscription.invoiced", {"invoice_number": "2026-0201"}),
    ("subscription.invoiced", {"invoice_number": "2026-0202"}),
    ("subscription.invoiced", {"invoice_number": "2026-0203"}),
    ("payment.received", {}),
    ("offer.signed", {}),
    ("inbox.received", {}),
]


async def shoot(page: Page, out: Path, view: str, *, full_page: bool) -> list[Path]:
    """The current state at both widths (the layout follows the viewport)."""
    written = []
    for name, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        if full_page:
            await page.evaluate("() => window.scrollTo(0, 0)")
        await page.evaluate("() => new Promise(requestAnimationFrame)")
        path = out / f"{view}-{name}.png"
        await page.screenshot(path=path, full_page=full_page, animations="disabled")
        written.append(path)
    return written


async def take(stack: Stack, executable: str, out: Path) -> list[Path]:
    email, password = stack.demo_login()
    written: list[Path] = []
    async with chromium(executable) as browser:
        page = await new_page(browser)
        profiles = Profiles(page)
        assert await log_in(page, stack, email, password)
        me = profiles.latest

        # The settings page, with the meter judging a password being typed.
        await page.get_by_label("New password", exact=True).fill("correct horse battery")
        await expect(page.locator("#quality-meter")).not_to_have_attribute("data-score", "none")
        await page.locator("#settings-heading").focus()
        written += await shoot(page, out, "settings", full_page=True)

        # The bell, open on its Information tab: a day's group of subscription invoices
        # expanded, single items (one already read), and the other tabs' counts.
        user = BellUser(email, password, me["id"], me["organization_id"])
        for topic, data in EVENTS:
            await asyncio.to_thread(publish, stack, user, topic, **data)
        info = sum(1 for topic, _ in EVENTS if topic != "reminder.created")
        await expect(page.locator("#bell-tab-info")).to_have_attribute(
            "aria-label", f"Information, {info} unread", timeout=BELL_TIMEOUT_MS
        )
        await page.locator("#bell-button").click()
        await page.locator("#bell-tab-info").click()
        rows = page.locator("#bell-list > li")
        await expect(rows).to_have_count(4)
        offer = rows.filter(has_text="O-2026-0005").locator(".notification")
        await offer.click()
        await expect(offer).to_have_class("notification")
        await page.locator("#bell-list button.group").click()
        await expect(page.locator(".group-items .notification")).to_have_count(3)
        await page.locator("#bell-heading").focus()
        written += await shoot(page, out, "bell", full_page=False)

        # The bell's preferences: mutable types and the locked ones.
        await page.get_by_role("button", name="Notification settings").click()
        await expect(page.get_by_label("Offers signed online")).to_be_enabled()
        await page.locator("#bell-prefs-heading").focus()
        written += await shoot(page, out, "bell-preferences", full_page=False)
        await page.keyboard.press("Escape")

        # The two-factor panel at the QR step.
        await page.get_by_label("New password", exact=True).fill("")
        await start_two_factor(page, stack)
        written += await shoot(page, out, "two-factor-qr", full_page=True)
        written += await take_security(stack, browser, out)
    return written


async def shoot_part(page: Page, part: Locator, out: Path, view: str) -> list[Path]:
    """One part of the page at both widths, cut from the whole page (a screenshot of the
    element itself would scroll it under the sticky header)."""
    written = []
    for name, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.evaluate("() => window.scrollTo(0, 0)")
        await page.evaluate("() => new Promise(requestAnimationFrame)")
        box = await part.bounding_box()
        assert box is not None
        path = out / f"{view}-{name}.png"
        await page.screenshot(path=path, full_page=True, clip=box, animations="disabled")
        written.append(path)
    return written


async def other_device(stack: Stack, user_agent: str, recovery_code: str) -> None:
    """A session of the demo user on another device (password and a recovery code)."""
    email, password = stack.demo_login()
    answer = await api_login(stack, email, password, user_agent)
    async with httpx.AsyncClient(base_url=stack.auth_url, timeout=30) as client:
        second = await client.post(
            "/v1/auth/login/2fa",
            json={"mfa_token": answer["mfa_token"], "code": recovery_code},
            headers={"User-Agent": user_agent},
        )
    assert second.status_code == 200, second.text


async def take_security(stack: Stack, browser: Browser, out: Path) -> list[Path]:
    """A passkey made by a virtual authenticator (it turns 2FA on), two other devices logged
    in, then the login's passkey step and the Security section."""
    email, password = stack.demo_login()
    page = await new_page(browser)
    await VirtualAuthenticator.attach(page)
    assert await log_in(page, stack, email, password)
    recovery = await add_passkey(page, "Work laptop")
    await page.get_by_role("button", name="Log out").click()
    await other_device(stack, IPHONE, recovery[0])
    await other_device(stack, FIREFOX_WINDOWS, recovery[1])

    assert not await log_in(page, stack, email, password)
    await page.locator("#mfa-heading").focus()
    written = await shoot(page, out, "passkey-login", full_page=False)
    await page.get_by_role("button", name="Use a passkey").click()
    await expect(page.locator("#settings-heading")).to_be_visible()
    await page.goto(f"{stack.web_url}/settings/security")
    await expect(page.locator("#security-heading")).to_be_focused()
    await expect(page.locator("#sessions-list li")).to_have_count(3)
    written += await shoot_part(page, page.locator("#security"), out, "security")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    executable = chromium_path()
    if executable is None:
        sys.stderr.write("Chromium not found: install Debian's chromium or set CHROMIUM\n")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home, running_stack(Path(home) / "home") as stack:
        written = asyncio.run(take(stack, executable, args.out))
    for path in written:
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
