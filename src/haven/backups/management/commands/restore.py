"""`haven restore ARCHIVE`: put a backup in place of the database and the erasure store.

Stop every Haven process first and start them again afterwards: each keeps the recovery public key
and a handle on the erasure store for as long as it runs. Before anything changes, the archive's
signature is checked and it is opened (a supervisor of the time, or the recovery words); every shred
ledger found is applied to the restored store before anything can open, so a case destroyed after
the backup stays destroyed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.backups.management.credentials import add_credential_arguments, credentials_from
from haven.backups.services import BackupError, backup_restore
from haven.crypto import CryptoError


class Command(BaseCommand):
    help = "Restore a backup archive into the configured database and erasure store."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        add_credential_arguments(parser)
        parser.add_argument(
            "--replace",
            action="store_true",
            help="the database holds tables: replace everything in it",
        )
        parser.add_argument(
            "--ledger-from",
            type=Path,
            action="append",
            default=[],
            metavar="ARCHIVE",
            help="a newer archive whose shred ledger to apply as well (those beside ARCHIVE are "
            "looked at anyway); may be given more than once",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = credentials_from(options)
        stream = sys.stderr
        try:
            report = backup_restore(
                path=options["archive"],
                credentials=credentials,
                signer=options.get("signer"),
                replace=options["replace"],
                ledgers=options["ledger_from"],
                progress=lambda step: print(f"haven restore: {step}…", file=stream),
            )
        except (BackupError, CryptoError) as exc:
            raise CommandError(str(exc)) from exc
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.timings.items())
        lines = [
            f"Restored {report.path} (made {report.created}) in {report.seconds:.1f} s ({steps}).",
            "Shred ledgers applied: " + "; ".join(report.ledgers) + ".",
            f"{report.erased} destroyed keys erased from the restored store; "
            f"{report.finished} cases or requests destroyed since were destroyed again.",
        ]
        if report.left:
            lines.append(
                f"{report.left} destroyed keys are still pointed at by records Haven does not know "
                "how to remove; they open nothing."
            )
        if not report.newer_ledger:
            lines.append(
                "WARNING: neither the replaced database nor a newer backup could be read for its "
                "shred ledger: a case deleted after this backup was made is back "
                '(docs/security.md, "Backups"). Delete it again if you know of one.'
            )
        for check in report.checks:
            lines.append(f"  {check}")
        for change in report.configuration:
            lines.append(f"  configuration differs: {change}")
        lines.append("Now restart every Haven process (they cache the keys and the store).")
        self.stdout.write("\n".join(lines))
        if not report.ok:
            raise CommandError("The restored database failed a check (above).")
