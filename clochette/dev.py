"""`clochette dev`: the whole system on one machine, for `make run`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from clochette.devstack import (
    DEFAULT_BROKER_PORT,
    DEFAULT_PG_PORT,
    ManagedProcess,
    PostgresInstance,
    StackError,
    require_free_port,
    spawn,
    start_broker,
    start_postgres,
)
from clochette.services import migrate_all
from shared.settings import Settings, clochette_home
from shared.topics import ensure_topics

READY_TIMEOUT = 60.0


def _say(message: str) -> None:
    sys.stdout.write(f"clochette| {message}\n")
    sys.stdout.flush()


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@dataclass
class DevStack:
    """Everything `clochette dev` started, stopped in reverse order."""

    postgres: PostgresInstance | None = None
    broker: ManagedProcess | None = None
    services: list[ManagedProcess] = field(default_factory=list)

    def stop(self) -> None:
        for service in self.services:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services:
            service.stop(timeout=10)
        if self.broker is not None:
            self.broker.stop(timeout=5)
        if self.postgres is not None:
            self.postgres.stop()


def _wait_ready(url: str, stack: DevStack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for service in stack.services:
            if service.process.poll() is not None:
                raise StackError(
                    f"{service.name} exited with {service.process.returncode} while starting; "
                    "its log is above"
                )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise StackError(f"{url} did not answer 200 within {READY_TIMEOUT:.0f} s")


@dataclass(frozen=True)
class DevUrls:
    """Where each part of the running stack answers (banner and dev.json)."""

    auth: str
    notifier: str
    web: str
    database: str
    bootstrap: str


def _require_free_ports(settings: Settings) -> None:
    """Every listener's port, checked before anything starts: one clear line, no traceback."""
    require_free_port(settings.auth_host, settings.auth_port, "The auth service", "AUTH_PORT")
    require_free_port(
        settings.notifier_host, settings.notifier_port, "The notifier", "NOTIFIER_PORT"
    )
    web_host, web_port = settings.web_listen
    require_free_port(web_host, web_port, "The web client", "WEB_APP_BASE_URL")


def _start_services(stack: DevStack, settings: Settings, env: dict[str, str]) -> None:
    """auth, notifier and the web client as child processes; returns once all answer."""
    for name in ("auth", "notifier", "web"):
        stack.services.append(
            spawn(
                name,
                [sys.executable, "-m", "clochette.cli", name],
                env=env,
                output=sys.stdout,
                prefix=f"{name:<8} | ",
            )
        )
    web_host, web_port = settings.web_listen
    _wait_ready(f"http://{settings.auth_host}:{settings.auth_port}/health/ready", stack)
    _wait_ready(f"http://{settings.notifier_host}:{settings.notifier_port}/health/ready", stack)
    _wait_ready(f"http://{web_host}:{web_port}/health/live", stack)


def run_dev(settings: Settings) -> int:
    """Start PostgreSQL, the broker, migrations, topics, both services and the web client;
    stop all on Ctrl-C."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    home = clochette_home()
    home.mkdir(parents=True, exist_ok=True)
    stack = DevStack()
    try:
        _require_free_ports(settings)
        database_url = settings.database_url
        if not database_url:
            pg_port = int(os.environ.get("CLOCHETTE_PG_PORT", DEFAULT_PG_PORT))
            stack.postgres = start_postgres(home / "postgres", pg_port, output=sys.stdout)
            database_url = stack.postgres.url()
            _say(f"PostgreSQL ready at {database_url} (data in {home / 'postgres'})")
        bootstrap = settings.kafka_bootstrap_servers
        if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
            broker_port = int(os.environ.get("CLOCHETTE_BROKER_PORT", DEFAULT_BROKER_PORT))
            stack.broker = start_broker(broker_port, output=sys.stdout)
            bootstrap = f"127.0.0.1:{broker_port}"
            _say(f"Kafka broker (tansu, in memory) ready at {bootstrap}")
        applied = asyncio.run(migrate_all(database_url))
        for name, files in applied.items():
            _say(f"migrations {name}: {', '.join(files) if files else 'up to date'}")
        created = asyncio.run(ensure_topics(bootstrap))
        _say(f"topics created: {', '.join(created) if created else 'all present'}")

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CLOCHETTE_SECRET_KEY": settings.require_secret_key(),
            "CLOCHETTE_HOME": str(home),
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "console"),
            # The demo has no SMS gateway: the phone code is read from the auth service's log.
            "CLOCHETTE_LOG_SMS_CODES": os.environ.get("CLOCHETTE_LOG_SMS_CODES", "true"),
            "PYTHONUNBUFFERED": "1",
        }
        _start_services(stack, settings, env)
        urls = DevUrls(
            auth=f"http://{settings.auth_host}:{settings.auth_port}",
            notifier=f"http://{settings.notifier_host}:{settings.notifier_port}",
            web=settings.web_app_base_url.rstrip("/"),
            database=database_url,
            bootstrap=bootstrap,
        )
        demo = _seed_demo(settings, database_url, home)
        _write_state(home, urls)
        _banner(urls, demo)
        while True:
            for service in stack.services:
                if service.process.poll() is not None:
                    raise StackError(
                        f"{service.name} stopped unexpectedly "
                        f"(exit {service.process.returncode}); stopping everything"
                    )
            time.sleep(0.3)
    except KeyboardInterrupt:
        _say("stopping…")
        return 0
    except StackError as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()
        (home / "dev.json").unlink(missing_ok=True)
        _say("stopped")


def _write_state(home: Path, urls: DevUrls) -> None:
    state = {
        "pid": os.getpid(),
        "database_url": urls.database,
        "kafka_bootstrap_servers": urls.bootstrap,
        "auth_url": urls.auth,
        "notifier_url": urls.notifier,
        "web_url": urls.web,
    }
    (home / "dev.json").write_text(json.dumps(state, indent=2) + "\n")


def _seed_demo(settings: Settings, database_url: str, home: Path) -> list[str]:
    """The demo organisation's administrator (created once), as banner lines."""
    if settings.is_production:
        return []
    from clochette.demo import seed_demo

    try:
        demo = seed_demo(database_url, home)
    except Exception as exc:  # the stack is useful without the demo user: say why, go on
        _say(f"could not seed the demo administrator: {type(exc).__name__}: {exc}")
        return []
    if demo.created:
        _say(f"demo administrator {demo.email} created")
    return demo.banner_lines()


def _banner(urls: DevUrls, demo: list[str] | None = None) -> None:
    auth, notifier = urls.auth, urls.notifier
    lines = [
        "",
        "Clochette is running. Ctrl-C stops everything.",
        f"  web client        {urls.web}   (settings page and bell; log in with the demo login)",
        f"  auth service      {auth}   (OpenAPI: {auth}/schema, {auth}/schema/openapi.json)",
        f"  notifier service  {notifier}   (OpenAPI: {notifier}/schema)",
        f"  PostgreSQL        {urls.database}",
        f"  Kafka bootstrap   {urls.bootstrap}",
        *(demo or []),
        "",
    ]
    for line in lines:
        _say(line)
