"""`haven backup`: write a signed, encrypted archive of the database and the erasure store.

    haven backup [--output-dir DIR]             one archive (run it daily; safe while Haven runs)
    haven backup verify ARCHIVE [who opens it]  restore it into a scratch copy and check it
    haven backup fingerprint                    the signing key's fingerprint, to keep off-site
    haven backup prune --keep-days N            destroy archives older than N days (not the newest)

`verify` exits 0 when every check passes, 1 when one fails, 2 when it cannot run at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.backups.management.credentials import add_credential_arguments, credentials_from
from haven.backups.services import (
    BackupError,
    backup_create,
    backup_prune,
    backup_signer_fingerprint,
    backup_verify,
)
from haven.crypto import CryptoError


class Command(BaseCommand):
    help = "Back up the database and the erasure store into one signed, encrypted archive."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output-dir",
            type=Path,
            metavar="DIR",
            help="where to write the archive (default: HAVEN_BACKUP_DIR)",
        )
        actions = parser.add_subparsers(dest="action", metavar="{verify,fingerprint,prune}")
        verify = actions.add_parser(
            "verify",
            help="restore an archive into a scratch database and check it; changes nothing else",
        )
        verify.add_argument("archive", type=Path)
        add_credential_arguments(verify)
        verify.add_argument(
            "--scratch-database",
            metavar="NAME",
            help="PostgreSQL: an existing empty database to restore into (it is overwritten) "
            "when Haven's role may not create one",
        )
        actions.add_parser("fingerprint", help="print the fingerprint of the backups' signing key")
        prune = actions.add_parser(
            "prune",
            help="destroy this organisation's archives in HAVEN_BACKUP_DIR older than --keep-days "
            "(the newest is always kept)",
        )
        prune.add_argument("--keep-days", type=int, required=True, metavar="N")
        prune.add_argument(
            "--dry-run", action="store_true", help="say what would go, remove nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options.get("action")
        try:
            if action == "verify":
                self._verify(options)
            elif action == "fingerprint":
                self.stdout.write(backup_signer_fingerprint())
            elif action == "prune":
                self._prune(options)
            else:
                self._backup(options)
        except (BackupError, CryptoError) as exc:
            raise CommandError(str(exc), returncode=2 if action == "verify" else 1) from exc

    def _backup(self, options: dict[str, Any]) -> None:
        result = backup_create(output_dir=options.get("output_dir"))
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
        who = (
            f"or the password of any of the {result.supervisors} supervisors who hold the "
            "supervisors' key"
            if result.supervisors
            else "only (no supervisor holds the supervisors' key)"
        )
        self.stdout.write(
            f"Backup written: {result.path} ({result.size / 1e6:,.1f} MB, {result.tables} tables, "
            f"{result.rows:,} rows, {result.ledger:,} destroyed keys in its shred ledger) in "
            f"{result.seconds:.1f} s ({steps}).\n"
            f"It opens with the recovery words {who}.\n"
            f"Signed by key {result.signer}: keep this fingerprint off the server; a restore on a "
            "host without this erasure store asks for it.\n"
            "Copy the archive off this host, and check it now and then with `haven backup verify`."
        )

    def _prune(self, options: dict[str, Any]) -> None:
        result = backup_prune(keep_days=options["keep_days"], dry_run=options["dry_run"])
        verb = "Would destroy" if options["dry_run"] else "Destroyed"
        for path in result.removed:
            self.stdout.write(f"{verb} {path}")
        for note in result.skipped:
            self.stdout.write(f"Left alone: {note}")
        self.stdout.write(
            f"{verb} {len(result.removed)} archive(s); kept {len(result.kept)} (the newest always). "
            "Copies kept elsewhere (off-site) need the same retention."
        )

    def _verify(self, options: dict[str, Any]) -> None:
        credentials = credentials_from(options)
        report = backup_verify(
            path=options["archive"],
            credentials=credentials,
            signer=options.get("signer"),
            scratch_database=options.get("scratch_database"),
        )
        self.stdout.write(
            f"Verifying {report.path} (made {report.created or 'at an unknown time'}):"
        )
        for check in report.checks:
            self.stdout.write(f"  {check}")
        if report.ok:
            self.stdout.write(f"Backup OK: restored and checked in {report.seconds:.1f} s.")
            return
        raise CommandError(
            f"Backup NOT OK: {sum(not c.ok for c in report.checks)} check(s) failed "
            f"({report.seconds:.1f} s).",
            returncode=1,
        )
