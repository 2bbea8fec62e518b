"""`haven purge [--dry-run]`: destroy cases past retention (run it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from haven.imports.services import imports_expire
from haven.retention.services import housekeeping_clear, retention_purge


class Command(BaseCommand):
    help = (
        "Show supervisors the cases now past their retention period, and destroy (crypto-shred) "
        "those shown for the whole notice period and not held. Run it daily."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would happen, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = retention_purge(dry_run=options["dry_run"])
        if not options["dry_run"]:
            leftovers = housekeeping_clear()
            expired = imports_expire()
            self.stdout.write(
                f"Cleared {leftovers.sessions} expired sessions, {leftovers.tokens} expired API "
                f"tokens and {leftovers.attempts} old failed-login records; destroyed what "
                f"{expired} imports kept (checked rows, bad rows)."
            )
        if result.purged and not result.dry_run and connection.vendor == "sqlite":
            # Deleted pages are zeroed (secure_delete); the write-ahead log still holds older
            # copies of them until it is checkpointed and truncated.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.stdout.write(str(result))
