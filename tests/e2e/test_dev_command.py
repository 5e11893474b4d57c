"""`clochette dev` (what `make run` runs), driven as a user would: from another process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from clochette.devstack import free_port

pytestmark = pytest.mark.e2e

CLOCHETTE = str(Path(sys.executable).parent / "clochette")


@dataclass
class DevRun:
    process: subprocess.Popen[str]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        output = "\n".join(self.lines[-60:])
        raise AssertionError(f"{text!r} not seen; exit={self.process.poll()}\n{output}")

    def descendants(self) -> list[psutil.Process]:
        children: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        return children


def dev_environment(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "CLOCHETTE_SECRET_KEY"}
    }
    env.update(
        CLOCHETTE_HOME=str(home),
        AUTH_PORT=str(free_port()),
        NOTIFIER_PORT=str(free_port()),
        CLOCHETTE_PG_PORT=str(free_port()),
        CLOCHETTE_BROKER_PORT=str(free_port()),
        WEB_APP_BASE_URL=f"http://127.0.0.1:{free_port()}",
    )
    env["AUTH_JWKS_URL"] = f"http://127.0.0.1:{env['AUTH_PORT']}/.well-known/jwks.json"
    return env


def start_dev(env: dict[str, str]) -> DevRun:
    process = subprocess.Popen(
        [CLOCHETTE, "dev"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = DevRun(process, env)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.lines.append(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return run


@pytest.fixture
def dev_env(tmp_path: Path) -> dict[str, str]:
    return dev_environment(tmp_path / "home")


@pytest.fixture
def dev(dev_env: dict[str, str]) -> Iterator[DevRun]:
    run = start_dev(dev_env)
    yield run
    if run.process.poll() is None:
        run.process.kill()
        run.process.wait(10)


def get_json(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local URL
        return response.status, json.loads(response.read())


def assert_gone(processes: list[psutil.Process], timeout: float = 15) -> None:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    assert not alive, f"left behind: {[(p.pid, p.name()) for p in alive]}"


def test_dev_serves_both_services_and_ctrl_c_leaves_nothing(dev: DevRun) -> None:
    dev.wait_for("Clochette is running")
    env = dev.env
    status, body = get_json(f"http://127.0.0.1:{env['AUTH_PORT']}/health/ready")
    assert (status, body["status"]) == (200, "ready")
    status, body = get_json(f"http://127.0.0.1:{env['NOTIFIER_PORT']}/health/ready")
    checks = {"database": "ok", "broker": "ok", "consumer": "ok", "longpoll": "ok"}
    assert (status, body["checks"]) == (200, checks)
    banner = "\n".join(dev.lines)
    assert f"http://127.0.0.1:{env['AUTH_PORT']}" in banner
    assert f"http://127.0.0.1:{env['NOTIFIER_PORT']}" in banner
    children = dev.descendants()
    names = {p.name() for p in children}
    assert any("postgres" in n for n in names)
    assert any("tansu" in n for n in names)

    started = time.monotonic()
    dev.process.send_signal(signal.SIGINT)
    assert dev.process.wait(30) == 0
    assert time.monotonic() - started < 20
    assert_gone(children)
    assert "stopped" in dev.lines[-1]


def test_data_survives_a_restart(dev_env: dict[str, str]) -> None:
    import asyncio

    import asyncpg

    first = start_dev(dev_env)
    try:
        first.wait_for("Clochette is running")
        url = f"postgresql://postgres@127.0.0.1:{dev_env['CLOCHETTE_PG_PORT']}/clochette"

        async def insert() -> None:
            conn = await asyncpg.connect(url)
            await conn.execute(
                "INSERT INTO auth.organizations (id, name) "
                "VALUES ('00000000-0000-4000-8000-000000000001', 'Kept across restarts')"
            )
            await conn.close()

        asyncio.run(insert())
    finally:
        first.process.send_signal(signal.SIGINT)
        first.process.wait(30)

    second = start_dev(dev_env)
    try:
        second.wait_for("Clochette is running")
        assert any("migrations auth: up to date" in line for line in second.lines)

        async def read() -> str | None:
            conn = await asyncpg.connect(url)
            name: str | None = await conn.fetchval(
                "SELECT name FROM auth.organizations "
                "WHERE id = '00000000-0000-4000-8000-000000000001'"
            )
            await conn.close()
            return name

        assert asyncio.run(read()) == "Kept across restarts"
    finally:
        second.process.send_signal(signal.SIGINT)
        second.process.wait(30)


def test_a_busy_port_gets_a_clear_message(dev_env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(dev_env["AUTH_PORT"])))
        blocker.listen()
        run = start_dev(dev_env)
        assert run.process.wait(30) != 0
    time.sleep(0.2)
    output = "\n".join(run.lines)
    assert f"127.0.0.1:{dev_env['AUTH_PORT']}" in output
    assert "already in use" in output
    assert "AUTH_PORT" in output
    assert "Traceback" not in output


def test_a_killed_supervisor_takes_its_children_with_it(dev: DevRun) -> None:
    dev.wait_for("Clochette is running")
    children = dev.descendants()
    assert children
    dev.process.kill()
    dev.process.wait(10)
    assert_gone(children, timeout=20)
