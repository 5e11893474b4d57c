"""`clochette`: the one command-line entry point for operators and developers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from clochette.devstack import (
    DEFAULT_PG_PORT,
    PortBusy,
    StackError,
    broker_for_command,
    database_url_for_command,
)
from shared.logging import configure_logging
from shared.migrations import MigrationError
from shared.settings import ConfigurationError, Settings, clochette_home, load_settings


def _pg_port() -> int:
    return int(os.environ.get("CLOCHETTE_PG_PORT", DEFAULT_PG_PORT))


def cmd_dev(settings: Settings, _args: argparse.Namespace) -> int:
    from clochette.dev import run_dev

    return run_dev(settings)


def _serve(name: str, settings: Settings) -> int:
    from clochette.devstack import require_free_port
    from shared.http import serve

    # Each app factory takes the shared Settings plus its own optional keyword arguments.
    create_app: Callable[[Settings], Any]
    internal_app: Callable[[Settings], Any]
    if name == "auth":
        from services.auth.app import create_app as create_auth_app
        from services.auth.app import create_internal_app as create_auth_internal

        create_app = create_auth_app
        internal_app = lambda _settings: create_auth_internal()  # noqa: E731
        host, port, variable = settings.auth_host, settings.auth_port, "AUTH_PORT"
    else:
        from services.notifier.app import create_app as create_notifier_app
        from services.notifier.app import create_internal_app as create_notifier_internal

        create_app = create_notifier_app
        internal_app = create_notifier_internal
        host, port, variable = settings.notifier_host, settings.notifier_port, "NOTIFIER_PORT"
    require_free_port(host, port, f"The {name} service", variable)
    listener = settings.metrics_listener(name)
    if listener is not None:
        require_free_port(*listener, f"The {name} metrics listener", f"{name.upper()}_METRICS_PORT")
    with (
        database_url_for_command(clochette_home(), _pg_port()) as url,
        broker_for_command(clochette_home()) as bootstrap,
    ):
        update = {"database_url": url, "kafka_bootstrap_servers": bootstrap}
        service_settings = settings.model_copy(update=update)
        app = create_app(service_settings)
        internal = None if listener is None else (internal_app(service_settings), *listener)
        serve(app, host, port, internal=internal)
    return 0


def cmd_auth(settings: Settings, _args: argparse.Namespace) -> int:
    return _serve("auth", settings)


def cmd_notifier(settings: Settings, _args: argparse.Namespace) -> int:
    from services.notifier.ingest.consumer import tune_garbage_collector

    tune_garbage_collector()
    return _serve("notifier", settings)


def cmd_web(settings: Settings, _args: argparse.Namespace) -> int:
    """The reference web client: static files only, so no database or broker is needed."""
    from clochette.devstack import require_free_port
    from clochette.web.server import create_app as create_web_app
    from shared.http import serve

    host, port = settings.web_listen
    require_free_port(host, port, "The web client", "WEB_APP_BASE_URL")
    serve(create_web_app(settings), host, port)
    return 0


def cmd_migrate(_settings: Settings, args: argparse.Namespace) -> int:
    from clochette.services import SERVICES, migrate_all

    names = tuple(SERVICES) if args.service == "all" else (args.service,)
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        applied = asyncio.run(migrate_all(url, names))
    for name, files in applied.items():
        print(f"{name}: {', '.join(files) if files else 'up to date'}")
    return 0


def cmd_db_roles(_settings: Settings, args: argparse.Namespace) -> int:
    """Each service's own PostgreSQL role, owning its own schema only."""
    import json

    from shared.db_roles import provision_service_roles

    passwords = {
        "auth": _read_password(args.auth_password_file, "--auth-password-file"),
        "notifier": _read_password(args.notifier_password_file, "--notifier-password-file"),
    }
    if passwords["auth"] == passwords["notifier"]:
        raise ConfigurationError("the auth and notifier roles need different passwords")
    with database_url_for_command(clochette_home(), _pg_port()) as url:
        reports = asyncio.run(provision_service_roles(url, passwords))
    print(json.dumps([vars(report) for report in reports], indent=2))
    return 0


def _read_password(path: str, option: str) -> str:
    try:
        password = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigurationError(f"{option}: cannot read {path} ({exc.strerror})") from None
    if len(password) < 16:
        raise ConfigurationError(f"{option}: the password in {path} is shorter than 16 characters")
    return password


def cmd_topics(settings: Settings, args: argparse.Namespace) -> int:
    from shared.kafka import KafkaSecurity
    from shared.topics import TOPICS, ensure_topics

    security = KafkaSecurity.from_settings(settings)
    with broker_for_command(clochette_home()) as bootstrap:
        created = asyncio.run(
            ensure_topics(bootstrap, replication_factor=args.replication_factor, security=security)
        )
    for spec in TOPICS:
        state = "created" if spec.name in created else "present"
        print(f"{spec.name:<24} {spec.partitions} partitions  {state}")
    return 0


def cmd_lag(settings: Settings, args: argparse.Namespace) -> int:
    from clochette.lag import LagUnavailable, lag_report
    from services.notifier.settings import NotifierSettings
    from shared.kafka import KafkaSecurity

    ingest = NotifierSettings()
    group = args.group or ingest.consumer_group
    prefix = ingest.topic_prefix if args.topic_prefix is None else args.topic_prefix
    topics = NotifierSettings(NOTIFIER_TOPIC_PREFIX=prefix).topics.consumed
    with broker_for_command(clochette_home()) as bootstrap:
        try:
            report = asyncio.run(
                lag_report(
                    bootstrap,
                    group,
                    topics,
                    samples=args.samples,
                    interval=args.interval,
                    as_json=args.json,
                    security=KafkaSecurity.from_settings(settings),
                )
            )
        except LagUnavailable as exc:
            print(f"clochette lag: {exc}", file=sys.stderr)
            return 2
    print(report)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clochette",
        description="Clochette: personal settings (auth) and notifications (notifier).",
        epilog="Without DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS, commands use the embedded "
        "PostgreSQL and broker of `make run` (the running ones, or started on demand).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Callable[[Settings, argparse.Namespace], int], help_: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.set_defaults(handler=handler)
        return sub

    add(
        "dev",
        cmd_dev,
        "run everything: embedded PostgreSQL and broker, migrations, both services, web client",
    )
    add("auth", cmd_auth, "run the auth service (AUTH_HOST:AUTH_PORT)")
    add("notifier", cmd_notifier, "run the notifier service (NOTIFIER_HOST:NOTIFIER_PORT)")
    add("web", cmd_web, "serve the reference web client (on WEB_APP_BASE_URL's port)")
    migrate = add("migrate", cmd_migrate, "apply pending database migrations")
    migrate.add_argument("--service", choices=["all", "auth", "notifier"], default="all")
    db = commands.add_parser(
        "db", help="database administration", description="database administration"
    )
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    roles_help = (
        "create or update the roles clochette_auth and clochette_notifier, each owning its own "
        "schema only (run with an administrator's DATABASE_URL, before `clochette migrate`)"
    )
    roles = db_commands.add_parser("roles", help=roles_help, description=roles_help)
    roles.set_defaults(handler=cmd_db_roles)
    roles.add_argument("--auth-password-file", required=True, help="password of clochette_auth")
    roles.add_argument(
        "--notifier-password-file", required=True, help="password of clochette_notifier"
    )
    topics = add("topics", cmd_topics, "create the Kafka topics of the manifest that are missing")
    topics.add_argument(
        "--replication-factor",
        type=int,
        default=1,
        help="replicas per partition for topics created now (3 on a production cluster)",
    )
    lag = add(
        "lag",
        cmd_lag,
        "consumer lag of the notifier per topic and partition, with a Burrow-style verdict "
        "(OK, WARN, STALL, STOP) from several samples",
    )
    lag.add_argument("--group", help="consumer group (default: NOTIFIER_CONSUMER_GROUP)")
    lag.add_argument("--topic-prefix", help="topic name prefix (default: NOTIFIER_TOPIC_PREFIX)")
    lag.add_argument("--samples", type=int, default=3, help="measurements to judge the trend")
    lag.add_argument("--interval", type=float, default=1.0, help="seconds between measurements")
    lag.add_argument("--json", action="store_true", help="print JSON instead of a table")
    from clochette.auth_commands import add_auth_commands

    add_auth_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format, service=args.command)
        code: int = args.handler(settings, args)
    except (ConfigurationError, MigrationError, PortBusy, StackError) as exc:
        print(f"clochette {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
