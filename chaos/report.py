"""The soak's output: the machine line, the invariants table and `.clochette/chaos/latest.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos.invariants import Check


def machine_line(m: dict[str, Any], sha: str) -> str:
    return (
        f"machine: {m['cores']} cores, {m['cpu']}, {m['postgresql']}, {m['broker']}, "
        f"Python {m['python']}, load {m['load_average_at_start']} at start, git {sha}"
    )


def table(checks: list[Check]) -> str:
    """Invariant, figure, threshold, verdict — one line each, aligned."""
    header = ("invariant", "figure", "threshold", "verdict")
    rows = [header, *((c.name, c.figure, c.threshold, "PASS" if c.ok else "FAIL") for c in checks)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append(
            f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}"
        )
        if i == 0:
            lines.append("-" * (sum(widths) + 6 + len("verdict")))
    return "\n".join(lines)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
