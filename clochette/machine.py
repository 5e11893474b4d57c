"""What a benchmark or soak figure was measured on: figures mean little without it.

Shared by `make bench` and `make chaos`.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from clochette.devstack import _postgres_bin, tansu_binary


def command_output(argv: list[str]) -> str:
    """A command's stripped standard output; empty when it cannot run."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError:
        return ""
    return done.stdout.strip()


def git_sha() -> str:
    return command_output(["git", "rev-parse", "--short", "HEAD"]) or "unknown"


def machine() -> dict[str, Any]:
    """Cores, CPU model, Python, PostgreSQL and broker versions, load average now."""
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = match.group(1) if match else ""
    postgres = command_output([str(_postgres_bin() / "postgres"), "--version"])
    if os.environ.get("DATABASE_URL"):
        postgres = "DATABASE_URL (see the server)"
    tansu = command_output([tansu_binary(), "--version"]) or "tansu"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "postgresql": postgres,
        "broker": "KAFKA_BOOTSTRAP_SERVERS" if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else tansu,
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
