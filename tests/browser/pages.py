"""What a user does in the reference web client, step by step, with Playwright's async API (the
suite runs in pytest-asyncio's session loop, where the sync API refuses to start). Shared by the
browser tests and the screenshot script."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyotp
from playwright.async_api import (
    Browser,
    CDPSession,
    Page,
    Response,
    async_playwright,
    expect,
)

from services.notifier.ingest.batch import SECURITY_NOTIFICATION_TYPES
from shared.events.examples import EXAMPLE_DATA
from tests.browser.stack import MOBILE, Stack

SVG_DATA_URL = re.compile(r"^data:image/svg\+xml")
# Generous: the machine has two cores shared with PostgreSQL, the broker, three services and
# other jobs; these are upper bounds, never sleeps.
UI_TIMEOUT_MS = 20_000
BELL_TIMEOUT_MS = 30_000
expect.set_options(timeout=UI_TIMEOUT_MS)


@asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser here."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            await browser.close()


class Profiles:
    """Every `GET /v1/me` answer the page received, newest last (the test needs the user's and
    organisation's ids, which the page keeps to itself)."""

    def __init__(self, page: Page) -> None:
        self.seen: list[dict[str, Any]] = []
        page.on("response", self._record)

    async def _record(self, response: Response) -> None:
        if response.url.endswith("/v1/me") and response.status == 200:
            self.seen.append(await response.json())

    @property
    def latest(self) -> dict[str, Any]:
        assert self.seen, "the page has not loaded /v1/me"
        return self.seen[-1]


async def new_page(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    context = await browser.new_context(
        viewport={"width": width, "height": height},
        locale="en-GB",
        device_scale_factor=1,
        is_mobile=width < 600,
        has_touch=width < 600,
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    return await context.new_page()


async def log_in(page: Page, stack: Stack, email: str, password: str) -> bool:
    """Fill the login form; True when the settings page opened, False when the second step
    (TOTP or recovery code) is asked for."""
    await page.goto(stack.web_url)
    await expect(page.locator("#login-heading")).to_be_visible()
    await page.locator("#login-email").fill(email)
    await page.locator("#login-password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    settings = page.locator("#settings-heading:visible")
    await expect(settings.or_(page.locator("#mfa-code:visible"))).to_be_visible()
    return await settings.is_visible()


async def start_two_factor(page: Page, stack: Stack) -> str:
    """Activate → phone → SMS code (from the dev log) → QR step; returns the TOTP secret."""
    await page.get_by_role("button", name="Activate", exact=True).click()
    await page.get_by_label("Mobile phone number").fill(MOBILE)
    seen = len(stack.run.lines)
    await page.get_by_role("button", name="Send code").click()
    await expect(page.get_by_label("Code from the SMS")).to_be_visible()
    code = await asyncio.to_thread(stack.sms_code, seen)
    await page.get_by_label("Code from the SMS").fill(code)
    await page.get_by_role("button", name="Confirm number").click()
    qr = page.locator("#qr")
    await expect(qr).to_be_visible()
    await expect(qr).to_have_attribute("src", SVG_DATA_URL)
    # The image decoded (an SVG without its namespace, say, would show only its alt text).
    await page.wait_for_function(
        "() => { const image = document.getElementById('qr'); "
        "return image.complete && image.naturalWidth > 0; }"
    )
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    assert len(secret) >= 26, secret
    return secret


async def finish_two_factor(page: Page, secret: str) -> list[str]:
    """Type the app's code, read the recovery codes (shown once), dismiss them."""
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Activate two-factor authentication").click()
    codes = page.locator("#recovery-codes li")
    await expect(codes).to_have_count(10)
    recovery = [text.strip() for text in await codes.all_inner_texts()]
    await page.get_by_role("button", name="I have saved my codes").click()
    await expect(page.get_by_role("button", name="Deactivate", exact=True)).to_be_visible()
    return recovery


# The Security section: users of their own, sessions made elsewhere, passkeys.

# Two other devices, as their browsers introduce themselves.
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def api_login(
    stack: Stack, email: str, password: str, user_agent: str = FIREFOX_WINDOWS
) -> dict[str, Any]:
    """A login through the API, as another device would make it (its own session)."""
    async with httpx.AsyncClient(base_url=stack.auth_url, timeout=30) as client:
        answer = await client.post(
            "/v1/auth/login",
            json={"email": email, "password": password},
            headers={"User-Agent": user_agent},
        )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


async def refresh_session(stack: Stack, refresh_token: str) -> tuple[int, dict[str, Any]]:
    """`POST /v1/auth/refresh` with a session's refresh token: the status (200 while the session
    lives, 401 once it ended) and the answer (the new pair: refresh tokens rotate)."""
    async with httpx.AsyncClient(base_url=stack.auth_url, timeout=30) as client:
        answer = await client.post("/v1/auth/refresh", json={"refresh_token": refresh_token})
    body: dict[str, Any] = answer.json()
    return answer.status_code, body


async def new_user(stack: Stack) -> tuple[str, str]:
    """A member of the demo organisation of its own, created by the demo administrator through
    the API; its e-mail and password."""
    email, password = stack.demo_login()
    admin = await api_login(stack, email, password)
    headers = {"Authorization": f"Bearer {admin['access_token']}"}
    user_email = f"user-{uuid.uuid4().hex[:10]}@demo.clochette.test"
    user_password = f"lemon trees by the old canal {uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=stack.auth_url, timeout=30, headers=headers) as client:
        me = (await client.get("/v1/me")).json()
        answer = await client.post(
            f"/v1/organizations/{me['organization_id']}/users",
            json={
                "email": user_email,
                "password": user_password,
                "language": "en",
                "role": "member",
            },
        )
        assert answer.status_code == 201, answer.text
        await client.post("/v1/auth/logout", json={"refresh_token": admin["refresh_token"]})
    return user_email, user_password


class VirtualAuthenticator:
    """A platform authenticator of the DevTools protocol's WebAuthn domain: it makes and uses
    passkeys without a person touching anything (user verification always succeeds)."""

    def __init__(self, cdp: CDPSession, authenticator_id: str) -> None:
        self.cdp = cdp
        self.id = authenticator_id

    @classmethod
    async def attach(cls, page: Page) -> VirtualAuthenticator:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("WebAuthn.enable")
        answer = await cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                }
            },
        )
        return cls(cdp, answer["authenticatorId"])

    async def credential_ids(self) -> list[str]:
        """The ids of the passkeys it holds, base64url as in the page's JSON."""
        answer = await self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return [
            item["credentialId"].rstrip("=").replace("+", "-").replace("/", "_")
            for item in answer["credentials"]
        ]

    async def remove(self) -> None:
        """The device is gone (lost, wiped): its passkeys with it."""
        await self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})


async def add_passkey(
    page: Page, name: str, password: str | None = None, code: str | None = None
) -> list[str]:
    """ "Add a passkey" with its name (and the step-up when 2FA is on); the recovery codes when
    this passkey turned 2FA on, else an empty list."""
    card = page.locator("#passkeys")
    await card.get_by_role("button", name="Add a passkey").click()
    await card.get_by_label("Name of the passkey").fill(name)
    if password is not None:
        await page.locator("#passkey-add-password").fill(password)
        await page.locator("#passkey-add-code").fill(code or "")
    await card.get_by_role("button", name="Create the passkey").click()
    told = page.locator("#passkeys-status:not(:empty), #passkeys-error:not(:empty)")
    await expect(told.first).to_be_attached()
    error = await page.locator("#passkeys-error").inner_text()
    assert not error, error
    await expect(page.locator("#passkeys-status")).to_have_text(f"The passkey “{name}” was added.")
    if not await page.locator("#passkey-recovery").is_visible():
        return []
    codes = page.locator("#passkey-recovery-codes li")
    recovery = [text.strip() for text in await codes.all_inner_texts()]
    await card.get_by_role("button", name="I have saved my codes").click()
    return recovery


# The bell, second version (tests/browser/test_bell_v2.py and the screenshots).


# Whether the auth service's sign-in alerts reach the bell (a sign-in without a device token of
# the account raises `security.new_sign_in`).
NEW_SIGN_IN_ALERTS = "security.new_sign_in" in SECURITY_NOTIFICATION_TYPES.values()


@dataclass
class BellUser:
    """A user of an organisation of their own (so no other test's broadcast reaches the bell)."""

    email: str
    password: str
    user_id: str
    organization_id: str
    device_token: str | None = None

    def device_script(self) -> str:
        """A page script that makes the browser a known device of this user (no sign-in alert)."""
        return f"localStorage.setItem('clochette.device_token', {json.dumps(self.device_token)})"


def create_user(stack: Stack, language: str = "en") -> BellUser:
    """`clochette users create` beside the running `clochette dev`, as an operator would."""
    tag = uuid.uuid4().hex[:10]
    email, password = f"bell-{tag}@example.be", f"bell tower of Bruges {tag}"
    clochette = Path(sys.executable).with_name("clochette")
    answer = subprocess.run(
        [
            str(clochette), "users", "create", "--organization", f"Bell {tag}",
            "--email", email, "--role", "member", "--language", language,
        ],
        input=password, env=stack.env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    created = json.loads(answer.stdout)
    user = BellUser(email, password, created["user_id"], created["organization_id"])
    # The first sign-in, through the API: its device token keeps the browser's sign-ins quiet;
    # its own alert, where there is one, is archived before the test starts.
    token = bell_api_login(stack, user)
    if NEW_SIGN_IN_ALERTS:
        with httpx.Client(
            base_url=stack.notifier_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as notifier:
            deadline = time.monotonic() + 30
            while not (
                alerts := notifier.get("/v1/notifications?category=security").json()["items"]
            ):
                assert time.monotonic() < deadline, "no sign-in alert in the bell"
                time.sleep(0.2)
            # Archived: out of every list and count the tests look at.
            for alert in alerts:
                archived = notifier.post(f"/v1/notifications/{alert['id']}/archive")
                assert archived.status_code == 204, archived.text
    return user


def bell_api_login(stack: Stack, user: BellUser) -> str:
    """A password login through the auth API as `user`'s device; returns the access token."""
    body = {"email": user.email, "password": user.password, "device_token": user.device_token}
    login = httpx.post(f"{stack.auth_url}/v1/auth/login", json=body, timeout=30)
    login.raise_for_status()
    answer = login.json()
    user.device_token = answer.get("device_token") or user.device_token
    token: str = answer["access_token"]
    return token


def publish(stack: Stack, user: BellUser, topic: str, **data: Any) -> dict[str, Any]:
    """One platform event for `user`, its data the example's with `data` changed."""
    from confluent_kafka import Producer

    event = {
        "event_id": str(uuid.uuid4()),
        "type": topic,
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "organization_id": user.organization_id,
        "user_id": user.user_id,
        "data": {**EXAMPLE_DATA[topic], **data},
    }
    producer = Producer({"bootstrap.servers": stack.bootstrap, "enable.idempotence": False})
    producer.produce(topic, key=user.organization_id, value=json.dumps(event).encode())
    assert producer.flush(15) == 0, f"a record not delivered to {topic}"
    return event


def change_password(stack: Stack, user: BellUser) -> None:
    """A password change through the auth API: the auth service notifies it (a security item)."""
    token = bell_api_login(stack, user)
    with httpx.Client(base_url=stack.auth_url, timeout=30) as client:
        new = f"{user.password} and its carillon"
        answer = client.put(
            "/v1/me/password",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "current_password": user.password,
                "new_password": new,
                "new_password_confirmation": new,
            },
        )
        assert answer.status_code == 204, answer.text
        user.password = new
