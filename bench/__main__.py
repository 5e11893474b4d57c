"""`make bench`: every benchmark in one run, each figure measured against its baseline in the
same run (the machine is shared and noisy: ratios are what count).

    python -m bench [--quick] [--only ingest,auth,api,longpoll]

Prints one table and writes `.clochette/bench/latest.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import bench_auth, bench_ingest, bench_longpoll, bench_notifier_api
from clochette.machine import git_sha, machine
from shared.logging import configure_logging
from shared.settings import clochette_home

Suite = Callable[[bool], dict[str, Any]]


def _ingest(quick: bool) -> dict[str, Any]:
    figures = bench_ingest.run(
        events=50_000 if quick else 200_000,
        seconds=5 if quick else 10,
        rounds=1 if quick else 3,
        path_events=20_000 if quick else bench_ingest.PATH_EVENTS,
    )
    paths = figures["paths"]
    return {
        "ingest_events_per_s": figures["ingest_events_per_s"],
        "ingest_copy_rows_per_s": figures["copy_rows_per_s"],
        "ingest_ratio_vs_copy": figures["ratio_to_copy"],
        "ingest_rounds": figures["rounds"],
        "ingest_p99_visible_ms_at_1000_per_s": figures["p99_visible_ms"],
        "notifier_peak_rss_mb": figures["peak_rss_mb"],
        # each write path and the mix (issue 14): events committed per second, and notification
        # rows written per second against a raw COPY's rows/s measured in the same round
        **{
            f"ingest_{path}_{key}": paths[path][figure]
            for path in bench_ingest.PATHS
            for key, figure in PATH_FIGURES.items()
        },
        "ingest_paths_rounds": paths["rounds"],
        "ingest_paths_workloads": {
            **paths["workloads"],
            "shares": paths["shares"],
            "population": paths["population"],
        },
    }


# latest.json key suffix -> figure of bench_ingest's per-path results (each path's median round)
PATH_FIGURES = {
    "events_per_s": "events_per_s",
    "rows_per_s": "rows_per_s",
    "copy_rows_per_s": "copy_rows_per_s",
    "ratio_vs_copy": "ratio_to_copy",
}


def _api(quick: bool) -> dict[str, Any]:
    summary = bench_notifier_api.run(seconds=5 if quick else 10, rounds=1 if quick else 3)
    scenarios = summary["scenarios"]
    figures: dict[str, Any] = {
        "health_live_per_s": scenarios["health_live"]["requests_per_second"],
        "unread_count_per_s": scenarios["unread_count_200"]["requests_per_second"],
        "load_generator": summary["tool"],
        "load_generator_saturated_in": summary["generator_saturated"],
        "api_users": summary["users"],
        "api_items_per_user": summary["items_per_user"],
        "api_rounds": summary["rounds"],
        "api_failed_scenarios": [n for n, s in scenarios.items() if s["errors"]],
    }
    # latest.json key prefix -> scenario; each key is the median round's, `<key>_rounds` has
    # every round's figure; a scenario the server does not offer yet is None ("n/a").
    for prefix, name in API_FIGURES.items():
        scenario = scenarios.get(name)
        ratio = f"{prefix}_ratio_vs_live"
        p99 = f"{prefix}_p99_ms_at_64"
        figures[ratio] = scenario["ratio_to_live"] if scenario else None
        figures[p99] = scenario["p99_ms"] if scenario else None
        # the same comparison by the server's CPU per answer (less moved by a busy machine)
        figures[f"{prefix}_cpu_ratio_vs_live"] = scenario["cpu_ratio_to_live"] if scenario else None
        figures[f"{ratio}_rounds"] = (
            [r["ratio_to_live"] for r in scenario["rounds"]] if scenario else []
        )
        figures[f"{p99}_rounds"] = [r["p99_ms"] for r in scenario["rounds"]] if scenario else []
    return figures


API_FIGURES = {
    "unread_count": "unread_count_200",
    "unread_count_304": "unread_count_304",
    "first_page": "first_page",
    "first_page_uncached": "first_page_uncached",
    "groups_page": "groups_page",
}


def _auth(quick: bool) -> dict[str, Any]:
    figures = bench_auth.run(seconds=8.0 if quick else 20.0, rounds=2 if quick else 4)
    return {
        "raw_argon2_verify_per_s": figures["raw_argon2_verify_per_s"],
        "login_per_s": figures["login_per_s"],
        "login_ratio_vs_argon2": figures["login_ratio_vs_argon2"],
        "me_p99_ms_during_login_load": figures["me_p99_ms_during_login_load"],
    }


def _longpoll(quick: bool) -> dict[str, Any]:
    return bench_longpoll.run()  # one size: the target is about holding >= 2,000 at once


SUITES: dict[str, Suite] = {
    "ingest": _ingest,
    "api": _api,
    "auth": _auth,
    "longpoll": _longpoll,
}

# A figure without a check is reported (printed, no verdict).
TARGETS: dict[str, tuple[str, Callable[[float], bool] | None]] = {
    "ingest_events_per_s": (">= 20,000", lambda v: v >= 20_000),
    "ingest_ratio_vs_copy": (">= 0.5", lambda v: v >= 0.5),
    "ingest_copy_path_events_per_s": ("reported", None),
    "ingest_copy_path_ratio_vs_copy": (">= 0.6", lambda v: v >= 0.6),
    "ingest_statement_path_events_per_s": ("reported", None),
    "ingest_statement_path_ratio_vs_copy": ("reported", None),
    "ingest_mix_events_per_s": ("reported", None),
    "ingest_mix_ratio_vs_copy": (">= 0.35", lambda v: v >= 0.35),
    "ingest_p99_visible_ms_at_1000_per_s": ("< 250 ms", lambda v: v < 250),
    "notifier_peak_rss_mb": ("< 250 MB", lambda v: v < 250),
    "unread_count_ratio_vs_live": (">= 0.6", lambda v: v >= 0.6),
    "unread_count_304_ratio_vs_live": (">= 0.5", lambda v: v >= 0.5),
    "unread_count_p99_ms_at_64": ("< 25 ms", lambda v: v < 25),
    "first_page_ratio_vs_live": (">= 0.3", lambda v: v >= 0.3),
    "first_page_p99_ms_at_64": ("reported", None),
    "first_page_uncached_ratio_vs_live": ("reported", None),
    "first_page_uncached_p99_ms_at_64": ("reported", None),
    "groups_page_ratio_vs_live": (">= 0.2", lambda v: v >= 0.2),
    "groups_page_p99_ms_at_64": ("reported", None),
    "login_ratio_vs_argon2": (">= 0.9", lambda v: v >= 0.9),
    "me_p99_ms_during_login_load": ("< 50 ms", lambda v: v < 50),
    "longpoll_held": (">= 2,000", lambda v: v >= 2_000),
    "longpoll_peak_rss_mb": ("< 250 MB", lambda v: v < 250),
    "longpoll_wake_p50_ms": ("reported", None),
    "longpoll_wake_p99_ms": ("<= 150 ms", lambda v: v <= 150),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke test)")
    parser.add_argument("--only", default="ingest,api,auth,longpoll", help="comma-separated suites")
    args = parser.parse_args()
    # the table is the output: set-up chatter (migrations, seeded users) only when it goes wrong
    configure_logging(level=os.environ.get("LOG_LEVEL", "WARNING"), fmt="console")
    results: dict[str, Any] = {
        "machine": machine(),
        "git_sha": git_sha(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_generator_available": shutil.which("wrk") is not None,
        # other work on a shared machine shows here; ratios are measured within one run for it
        "load_average_at_start": os.getloadavg()[0],
    }
    for name in args.only.split(","):
        print(f"\n=== {name} ===", flush=True)
        results |= SUITES[name](args.quick)
    results["load_average_at_end"] = os.getloadavg()[0]
    out = clochette_home() / "bench" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_summary(results, out)
    return 0


def print_summary(results: dict[str, Any], out: Path) -> None:
    m = results["machine"]
    print(
        f"\nmachine: {m['cores']} cores, {m['cpu']}, {m['postgresql']}, {m['broker']}, "
        f"git {results['git_sha']}"
    )
    print(f"{'figure':<40} {'measured':>12}  {'target':<10} verdict")
    for key, (target, ok) in TARGETS.items():
        if key not in results:
            continue
        if results[key] is None:  # a scenario whose route the server does not have
            print(f"{key:<40} {'n/a':>12}  {target:<10} (route missing)")
            continue
        value = float(results[key])
        verdict = "" if ok is None else ("met" if ok(value) else "MISSED")
        print(f"{key:<40} {value:>12.2f}  {target:<10} {verdict}".rstrip())
    if results.get("api_failed_scenarios"):
        print(f"API scenarios FAILED (unexpected answers): {results['api_failed_scenarios']}")
    if "load_generator" in results:
        saturated = results.get("load_generator_saturated_in") or []
        print(
            f"load generator: {results['load_generator']}; "
            + (
                f"it saturated before the server in {', '.join(saturated)}"
                if saturated
                else "the server was the limit in every API scenario"
            )
        )
    print(
        f"load average (1 min): {results['load_average_at_start']:.1f} at start, "
        f"{results['load_average_at_end']:.1f} at end"
    )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    sys.exit(main())
