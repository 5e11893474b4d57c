"""The processes of the soak: embedded PostgreSQL, the tansu broker, `clochette auth` and up to
two `clochette notifier` instances, each a real child process on a free port.

Faults need process control (SIGKILL, SIGSTOP, a restart on the same data folder), which is why
the soak starts its own stack rather than attaching to `make run`. Every child is spawned by
`clochette.devstack.spawn`: its own session (a terminal's Ctrl-C reaches only the soak, which
stops them in order) and a parent-death signal (a killed soak leaves nothing behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from clochette.devstack import (
    ManagedProcess,
    PostgresInstance,
    free_port,
    spawn,
    start_broker,
    start_postgres,
)

# OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane): the soak exercises logins, not the
# hash; production's cost (64 MiB, 3 passes, 4 lanes) would spend the two cores of the machine
# on seeding 200 users. The auth service gets the same values, so no login rehashes.
ARGON2_ENV = {
    "AUTH_ARGON2_TIME_COST": "2",
    "AUTH_ARGON2_MEMORY_KIB": "19456",
    "AUTH_ARGON2_PARALLELISM": "1",
}


# Set on Ctrl-C / SIGTERM: faults run their blocking steps in threads, which asyncio cannot
# cancel; they check this flag so the soak stops in seconds instead of finishing a wait.
STOPPING = threading.Event()


class StackFailure(Exception):
    """A process of the soak did not start or did not come back."""


@dataclass
class Service:
    """One `clochette auth|notifier` process: started, killed, stopped and started again on the
    same port with the same environment."""

    name: str
    command: str
    port: int
    env: dict[str, str]
    log: Path
    managed: ManagedProcess | None = None
    pids: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        if self.managed is None or self.managed.process.poll() is not None:
            return None
        return self.managed.process.pid

    def start(self) -> None:
        if STOPPING.is_set():
            raise StackFailure("the soak is stopping")
        argv = [str(Path(sys.executable).parent / "clochette"), self.command]
        self.managed = spawn(self.name, argv, env=self.env, output=self.log)
        self.pids.append(self.managed.process.pid)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health/ready", timeout=2) as answer:  # noqa: S310 - our own URL
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def wait_ready(self, timeout: float = 90) -> float:
        """Block until /health/ready answers 200; returns the monotonic time it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if STOPPING.is_set():
                raise StackFailure("the soak is stopping")
            if self.managed is not None and self.managed.process.poll() is not None:
                raise StackFailure(f"{self.name} exited with {self.managed.process.returncode}")
            if self.ready():
                return time.monotonic()
            time.sleep(0.2)
        raise StackFailure(f"{self.name} was not ready within {timeout:.0f} s (see {self.log})")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown code runs, like a crash."""
        if self.managed is not None and self.managed.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.managed.process.pid, signal.SIGKILL)
            self.managed.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, the graceful path (the notifier leaves its group), SIGKILL after 20 s."""
        if self.managed is not None:
            self.managed.stop(timeout=20)


@dataclass
class Stack:
    """Everything the soak runs, on free ports, with its files under `workdir`."""

    workdir: Path
    postgres: PostgresInstance
    broker: ManagedProcess
    broker_port: int
    auth: Service
    notifier_a: Service
    notifier_b: Service
    secret_key: str

    @property
    def database_url(self) -> str:
        return self.postgres.url()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def service_pids(self) -> dict[str, int | None]:
        return {s.name: s.pid for s in (self.auth, self.notifier_a, self.notifier_b)}

    # --- faults ---------------------------------------------------------------------------

    def restart_postgres(self, down_seconds: float) -> None:
        """A "fast" shutdown (sessions rolled back, checkpoint), a few seconds down, then the
        same server again on the same data folder and port."""
        self.postgres.stop()
        STOPPING.wait(down_seconds)
        self.postgres = start_postgres(
            self.postgres.data_dir,
            self.postgres.port,
            output=self.workdir / "postgres.log",
            create_database=None,
        )

    def pause_broker(self) -> None:
        os.killpg(self.broker.process.pid, signal.SIGSTOP)

    def resume_broker(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.broker.process.pid, signal.SIGCONT)

    # --- shutdown -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything, services first; a paused broker is resumed so it can exit."""
        for service in (self.notifier_b, self.notifier_a, self.auth):
            with contextlib.suppress(Exception):
                service.stop()
        self.resume_broker()
        with contextlib.suppress(Exception):
            self.broker.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()


def service_env(
    base: dict[str, str], *, database_url: str, bootstrap: str, secret_key: str, auth_port: int
) -> dict[str, str]:
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith(("NOTIFIER_", "AUTH_", "KAFKA_", "CLOCHETTE_"))
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CLOCHETTE_SECRET_KEY": secret_key,
            "CLOCHETTE_ENV": "development",
            "AUTH_HOST": "127.0.0.1",
            "AUTH_PORT": str(auth_port),
            "NOTIFIER_HOST": "127.0.0.1",
            "AUTH_JWKS_URL": f"http://127.0.0.1:{auth_port}/.well-known/jwks.json",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            **ARGON2_ENV,
        }
    )
    return env


def start_stack(workdir: Path) -> Stack:
    """PostgreSQL (durable, as `clochette dev` runs it), the broker, migrations and topics.
    The services are created here and started by the caller (auth first: seeding needs it)."""
    from clochette.services import migrate_all
    from shared.topics import ensure_topics

    workdir.mkdir(parents=True, exist_ok=True)
    postgres = start_postgres(workdir / "pg", free_port(), output=workdir / "postgres.log")
    broker_port = free_port()
    try:
        broker = start_broker(broker_port, output=workdir / "broker.log")
    except BaseException:
        postgres.stop()
        raise
    secret_key = secrets.token_urlsafe(48)
    auth_port = free_port()
    env = service_env(
        dict(os.environ),
        database_url=postgres.url(),
        bootstrap=f"127.0.0.1:{broker_port}",
        secret_key=secret_key,
        auth_port=auth_port,
    )
    env["CLOCHETTE_HOME"] = str(workdir / "home")

    def notifier(name: str) -> Service:
        port = free_port()
        return Service(
            name, "notifier", port, {**env, "NOTIFIER_PORT": str(port)}, workdir / f"{name}.log"
        )

    stack = Stack(
        workdir,
        postgres,
        broker,
        broker_port,
        Service("auth", "auth", auth_port, env, workdir / "auth.log"),
        notifier("notifier-a"),
        notifier("notifier-b"),
        secret_key,
    )
    try:
        asyncio.run(migrate_all(postgres.url()))
        asyncio.run(ensure_topics(stack.bootstrap))
    except BaseException:
        stack.stop()
        raise
    return stack
