"""`python -m chaos [--minutes N] [--pollers N] [--rate R] …` — see docs/chaos.md."""

from __future__ import annotations

import argparse
import os
import sys

from chaos.runner import Options, run


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m chaos",
        description="Soak the embedded stack with mixed traffic and faults, then check every "
        "invariant; exit 0 only when all hold.",
    )
    add = parser.add_argument
    add(
        "--minutes",
        type=float,
        default=float(os.environ.get("CHAOS_MINUTES", "10")),
        help="traffic duration (default: CHAOS_MINUTES or 10); faults scale with it",
    )
    add("--pollers", type=int, default=200, help="bell pollers (browser tabs)")
    add("--rate", type=float, default=200.0, help="steady events per second")
    add("--burst", type=int, default=5000, help="events per burst (five bursts per run)")
    add("--organizations", type=int, default=20)
    add("--users-per-organization", type=int, default=10)
    add(
        "--two-factor-per-organization",
        type=int,
        default=1,
        help="members per organisation enrolled in 2FA through the real HTTP flow",
    )
    add("--poll-interval", type=float, default=2.0, help="seconds between a poller's polls")
    add("--login-interval", type=float, default=1.5, help="seconds between logins")
    add(
        "--wrong-passwords",
        type=int,
        default=6,
        help="deliberate wrong passwords (each on another account; the address throttle allows 20)",
    )
    add(
        "--lag-deadline",
        type=float,
        default=60.0,
        help="seconds within which the lag must be back to 0 after the last fault",
    )
    add(
        "--grace",
        type=float,
        default=5.0,
        help="seconds after a fault window in which failures are still excused",
    )
    add("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "7")))
    add("--keep", action="store_true", help="keep the run's PostgreSQL data even when it passes")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.pollers < 1 or args.rate <= 0:
        parser.error("--minutes, --pollers and --rate must be positive")
    return Options(
        minutes=args.minutes,
        pollers=args.pollers,
        rate=args.rate,
        burst=args.burst,
        organizations=args.organizations,
        users_per_organization=args.users_per_organization,
        two_factor_per_organization=args.two_factor_per_organization,
        poll_interval=args.poll_interval,
        login_interval=args.login_interval,
        wrong_passwords=args.wrong_passwords,
        lag_deadline=args.lag_deadline,
        grace=args.grace,
        seed=args.seed,
        keep=args.keep,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    try:
        return run(options)
    except KeyboardInterrupt:
        print("\nchaos: interrupted; every child process was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
