"""`haven purge [--dry-run]`: destroy cases past retention (run it daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from haven.retention.services import housekeeping_clear, retention_purge
from haven.vault.services import erasure_ledger_apply


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
            # Keys destroyed by a transaction whose process died before erasing them.
            erased = erasure_ledger_apply()
            if erased:
                self.stdout.write(f"Erased {erased} destroyed keys a crash had left in the store.")
            leftovers = housekeeping_clear()
            self.stdout.write(
                f"Cleared {leftovers.sessions} expired sessions, {leftovers.tokens} expired API "
                f"tokens and {leftovers.attempts} old failed-login records."
            )
        if result.purged and not result.dry_run and connection.vendor == "sqlite":
            # The destroyed keys' erasure secrets are gone already, so what the files keep opens
            # nothing; this also drops the deleted rows' search tokens and encodings, which
            # secure_delete zeroes in the database but the write-ahead log keeps until truncated.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.stdout.write(str(result))
