"""`haven run`: migrate, collect static files quietly, then serve Haven with gunicorn."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from haven.demo.server import serve


def _port(value: str) -> int:
    import argparse

    try:
        port = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from exc
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not between 1 and 65535")
    return port


def _workers(value: str) -> int:
    import argparse

    try:
        workers = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if not 1 <= workers <= 64:
        raise argparse.ArgumentTypeError(f"{workers} is not between 1 and 64")
    return workers


class Command(BaseCommand):
    help = "Migrate, collect static files and serve Haven with gunicorn (Ctrl-C stops it)."
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=_port, default=8000)
        parser.add_argument("--workers", type=_workers, default=2)
        parser.add_argument(
            "--no-migrate", action="store_true", help="do not apply migrations first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        if not host or any(c.isspace() for c in host):
            raise CommandError(f"{host!r} is not a host name or address.")
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        connections.close_all()  # never share a database connection with forked workers
        shown = f"[{host}]" if ":" in host else host
        portal_only = settings.HAVEN_SERVE == "portal"
        if host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
            self.stderr.write(
                f"Note: {host} is not in HAVEN_ALLOWED_HOSTS ({', '.join(settings.ALLOWED_HOSTS)});"
                " browsers must use one of those names."
            )
        what = {"all": "Haven", "staff": "Haven (staff side only)", "portal": "Haven's portal"}
        where = f"http://{shown}:{options['port']}/" + ("portal/" if portal_only else "")
        self.stdout.write(
            f"{what[settings.HAVEN_SERVE]} is serving on {where} with "
            f"{options['workers']} worker(s). Press Ctrl-C to stop."
        )
        self.stdout.flush()
        serve(
            host=host,
            port=options["port"],
            workers=options["workers"],
            name="haven-portal" if portal_only else "haven",
        )
