"""Load generators of the bell API benchmark: 64 keep-alive connections that rotate through one
request per user (each with that user's token, and ETag when polling), and check every answer's
status against the scenario's.

`wrk` (Debian package `wrk`) with a generated Lua script when installed, else a Python asyncio
generator in a separate process. Both report the same figures (`LoadResult`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue as queue_module
import re
import resource
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Final

import psutil

CONNECTIONS: Final = 64


@dataclass(frozen=True)
class Scenario:
    """One measured request shape; `headers` holds one header set per user, rotated through."""

    name: str
    path: str
    headers: list[dict[str, str]]
    expected_status: int = 200
    # One path per header set (same order), for requests that differ per user (a cursor);
    # None: `path` for all.
    paths: list[str] | None = None

    def path_of(self, index: int) -> str:
        return self.paths[index] if self.paths is not None else self.path


@dataclass
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    # Answers whose status was not the scenario's, plus socket errors: any fails the scenario.
    errors: int
    # CPU used during the run, in cores (1.0 = one core busy the whole run): says which side
    # ran out first, the load generator or the server.
    generator_cores: float = float("nan")
    server_cores: float = float("nan")


# --- wrk ---------------------------------------------------------------------------------------

_WRK_UNITS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}

# Each wrk thread builds the requests once and walks through them from its own offset; every
# answer's status is checked in `response` and the mismatches summed up in `done`.
_WRK_SCRIPT: Final = """
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  prepared = {}
  for i, h in ipairs(HEADERS) do prepared[i] = wrk.format("GET", PATHS[i] or PATH, h) end
  position = (id * 7919) % #prepared
  unexpected = 0
end
function request()
  position = position % #prepared + 1
  return prepared[position]
end
function response(status, headers, body)
  if status ~= EXPECTED then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("unexpected") end
  io.write(string.format("unexpected statuses: %d\\n", total))
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_script(scenario: Scenario) -> str:
    tables = ",\n".join(
        "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in h.items()) + "}"
        for h in scenario.headers
    )
    paths = ", ".join(_lua_string(p) for p in scenario.paths or ())
    return (
        f"PATH = {_lua_string(scenario.path)}\nEXPECTED = {scenario.expected_status}\n"
        f"HEADERS = {{\n{tables}\n}}\nPATHS = {{{paths}}}\n{_WRK_SCRIPT}"
    )


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _WRK_UNITS[match[2]]


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk output without {pattern!r}:\n{text}")
    return match[1]


def run_wrk(base: str, scenario: Scenario, seconds: float, threads: int) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-") as script:
        script.write(wrk_script(scenario))
        script.flush()
        # wrk takes whole seconds
        duration = f"-d{max(1, round(seconds))}s"
        command = ["wrk", f"-t{threads}", f"-c{CONNECTIONS}", duration, "--latency"]
        done = subprocess.run(  # noqa: S603 - fixed program, our arguments
            [*command, "-s", script.name, base + scenario.path],
            check=False,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({scenario.name}): {done.stderr or done.stdout}")
    out = done.stdout
    errors = int(_found(r"unexpected statuses: (\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return LoadResult(
        requests_per_second=float(_found(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_wrk_ms(_found(r"\s50%\s+(\S+)", out)),
        p99_ms=_wrk_ms(_found(r"\s99%\s+(\S+)", out)),
        requests=int(_found(r"(\d+) requests in", out)),
        errors=errors,
    )


# --- the Python generator ----------------------------------------------------------------------

_LENGTH: Final = re.compile(rb"(?i)\r\ncontent-length:\s*(\d+)")


async def _python_connection(
    *,
    host: str,
    port: int,
    requests: list[bytes],
    start: int,
    expected: bytes,
    stop_at: float,
    latencies: list[float],
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors, position, count = 0, start, len(requests)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(requests[position])
            position = (position + 1) % count
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            if length:
                await reader.readexactly(int(length[1]))
            elif b"chunked" in head.lower():
                raise RuntimeError("chunked answers are not read by this generator")
            latencies.append(time.perf_counter() - started)
            errors += head[9:12] != expected
    finally:
        writer.close()
    return errors


def _python_load_process(
    base: str, scenario: Scenario, seconds: float, queue: Any
) -> None:  # pragma: no cover - runs in a child process
    match = re.fullmatch(r"http://([^:/]+):(\d+)", base)
    assert match is not None  # noqa: S101 - our own URL
    host, port = match[1], int(match[2])
    requests = [
        (
            "\r\n".join(
                [f"GET {scenario.path_of(index)} HTTP/1.1", f"Host: {host}:{port}"]
                + [f"{k}: {v}" for k, v in headers.items()]
            )
            + "\r\n\r\n"
        ).encode()
        for index, headers in enumerate(scenario.headers)
    ]
    expected = str(scenario.expected_status).encode()
    latencies: list[float] = []
    spread = max(1, len(requests) // CONNECTIONS)

    async def run() -> int:
        stop_at = time.perf_counter() + seconds
        done = await asyncio.gather(
            *(
                _python_connection(
                    host=host,
                    port=port,
                    requests=requests,
                    start=(i * spread) % len(requests),
                    expected=expected,
                    stop_at=stop_at,
                    latencies=latencies,
                )
                for i in range(CONNECTIONS)
            )
        )
        return sum(done)

    started = time.perf_counter()
    errors = asyncio.run(run())
    elapsed = time.perf_counter() - started
    latencies.sort()
    queue.put(
        LoadResult(
            requests_per_second=len(latencies) / elapsed,
            p50_ms=latencies[len(latencies) // 2] * 1000,
            p99_ms=latencies[int(len(latencies) * 0.99)] * 1000,
            requests=len(latencies),
            errors=errors,
        )
    )


def run_python_load(base: str, scenario: Scenario, seconds: float) -> LoadResult:
    """The fallback generator: one asyncio process, 64 keep-alive connections."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_python_load_process, args=(base, scenario, seconds, queue))
    process.start()
    deadline = time.monotonic() + seconds + 120
    while True:
        try:
            result: LoadResult = queue.get(timeout=1)
            break
        except queue_module.Empty:
            if not process.is_alive() or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"the Python load generator failed ({scenario.name})") from None
    process.join()
    return result


# --- one measured run --------------------------------------------------------------------------


def load(tool: str, base: str, scenario: Scenario, seconds: float, threads: int) -> LoadResult:
    if tool == "wrk":
        return run_wrk(base, scenario, seconds, threads)
    return run_python_load(base, scenario, seconds)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def load_measuring_cpu(
    tool: str,
    base: str,
    scenario: Scenario,
    seconds: float,
    *,
    threads: int,
    server: psutil.Process,
) -> LoadResult:
    """One load run, with the CPU the generator (a finished child process: wrk, or the Python
    generator) and the server used meanwhile."""
    generator_before, server_before = _children_cpu_seconds(), _cpu_seconds(server)
    started = time.perf_counter()
    result = load(tool, base, scenario, seconds, threads)
    elapsed = time.perf_counter() - started
    result.generator_cores = (_children_cpu_seconds() - generator_before) / elapsed
    result.server_cores = (_cpu_seconds(server) - server_before) / elapsed
    return result


def generator_saturated(result: LoadResult, tool: str, threads: int) -> bool:
    """True when the load generator, not the server, was the limit: every generator thread
    busy (>= 90 %) while the server (one process, one event loop) still had room."""
    capacity = threads if tool == "wrk" else 1
    return result.generator_cores >= 0.9 * capacity and result.server_cores < 0.9
