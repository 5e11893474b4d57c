"""The system as a user starts it (`clochette dev` in a process of its own), plus what a browser
test needs from outside the browser: the demo login, the SMS code from the dev log, events
published on Kafka, and Chromium itself (Debian's, never a downloaded one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.events.examples import EXAMPLE_DATA
from tests.e2e.test_dev_command import DevRun, dev_environment, start_dev

# A Belgian mobile number as a user types it.
MOBILE = "0470 12 34 56"
START_TIMEOUT = 90.0


def chromium_path() -> str | None:
    """CHROMIUM (the Makefile sets it), else Debian's /usr/bin/chromium, if it is there."""
    candidate = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return candidate if Path(candidate).exists() or shutil.which(candidate) else None


@dataclass
class Stack:
    """A running `clochette dev` with its URLs."""

    run: DevRun
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return self.run.env

    @property
    def web_url(self) -> str:
        return self.env["WEB_APP_BASE_URL"]

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AUTH_PORT']}"

    @property
    def notifier_url(self) -> str:
        return f"http://127.0.0.1:{self.env['NOTIFIER_PORT']}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.env['CLOCHETTE_BROKER_PORT']}"

    def demo_login(self) -> tuple[str, str]:
        document = json.loads((self.home / "demo-login.json").read_text())
        return document["email"], document["password"]

    def sms_code(self, after_line: int, timeout: float = 30) -> str:
        """The code of the first SMS the auth service logged after line `after_line`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.run.lines[after_line:]:
                if "sms_requested" in line:
                    text = line.split("text=", 1)[-1]
                    match = re.search(r"\b(\d{6})\b", text)
                    if match:
                        return match.group(1)
            time.sleep(0.1)
        raise AssertionError("no sms_requested line in the dev log:\n" + self.tail())

    def tail(self, count: int = 40) -> str:
        return "\n".join(self.run.lines[-count:])

    def publish(self, topic: str, organization_id: str, user_id: str | None) -> dict[str, Any]:
        """One platform event in the contract's envelope, keyed by organisation (section 6)."""
        from confluent_kafka import Producer

        event = {
            "event_id": str(uuid.uuid4()),
            "type": topic,
            "version": 1,
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "organization_id": organization_id,
            "user_id": user_id,
            "data": EXAMPLE_DATA[topic],
        }
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": False})
        producer.produce(topic, key=organization_id, value=json.dumps(event).encode())
        remaining = producer.flush(15)
        assert remaining == 0, f"{remaining} record(s) not delivered to {topic}"
        return event


@contextmanager
def running_stack(home: Path, poll_interval: int = 1) -> Iterator[Stack]:
    """`clochette dev` on free ports with its own CLOCHETTE_HOME; stopped with Ctrl-C after."""
    env = dev_environment(home)
    env.update(NOTIFIER_POLL_INTERVAL=str(poll_interval), LOG_FORMAT="console")
    # The web app under `localhost`, as by default: passkeys refuse an IP address as their domain.
    env["WEB_APP_BASE_URL"] = env["WEB_APP_BASE_URL"].replace("//127.0.0.1:", "//localhost:")
    env.pop("CORS_ALLOWED_ORIGINS", None)
    env.pop("WEB_AUTH_URL", None)
    env.pop("WEB_NOTIFIER_URL", None)
    run = start_dev(env)
    try:
        run.wait_for("Clochette is running", timeout=START_TIMEOUT)
        yield Stack(run, home)
    finally:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGINT)
            try:
                run.process.wait(30)
            except Exception:
                run.process.kill()
                run.process.wait(10)
