"""`haven recover`: use the organisation recovery words, offline, after a reset or a disaster.

    haven recover restore-access NAME   re-seal to NAME's current key everything they lost
    haven recover show-case CASE_ID     print a case's person and case record (JSON)

The words are read from --words-file or typed at a hidden prompt: never from the command line,
where they would reach the shell history and the process list.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.cases.models import Case
from haven.crypto import CryptoError, PersonalKey, RecoveryWordsError, recovery_key_from_words
from haven.vault import integrity
from haven.vault.sealed import payload_read
from haven.vault.services import recovery_context, recovery_restore_access

MAX_WORDS_FILE_BYTES = 4096


def _words(path: Path | None) -> str:
    if path is not None:
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_WORDS_FILE_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read the words file {path}: {exc.strerror}.") from exc
        if len(raw) > MAX_WORDS_FILE_BYTES:
            raise CommandError(f"The words file {path} is too large to hold 24 words.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(f"The words file {path} is not UTF-8 text.") from exc
    if not sys.stdin.isatty():
        return sys.stdin.read(MAX_WORDS_FILE_BYTES)
    try:
        return getpass.getpass("Recovery words (24, in order; not shown): ")
    except EOFError as exc:
        raise CommandError("No recovery words given; nothing was changed.") from exc


class Command(BaseCommand):
    help = "Use the organisation recovery words to restore a person's access or open a case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["restore-access", "show-case"])
        parser.add_argument("target", help="a username (restore-access) or a case id (show-case)")
        parser.add_argument("--words-file", type=Path, help="read the words from this file")

    def handle(self, *args: Any, **options: Any) -> None:
        target = options["target"].strip()
        user: User | None = None
        if options["action"] == "restore-access":
            user = User.objects.filter(username=target).first()
            if user is None:
                raise CommandError(f"No staff member named {target!r}; nothing was changed.")
        else:
            try:
                case = Case.objects.select_related("person").get(pk=target)
            except (Case.DoesNotExist, ValidationError, ValueError) as exc:
                raise CommandError(f"No case with id {target!r}.") from exc
        recovery = self._recovery(options["words_file"])
        try:
            if user is not None:
                grants, shares = recovery_restore_access(recovery=recovery, user=user)
                self.stdout.write(
                    f"Restored {grants} records and {shares} team keys to {user.username}. "
                    "They see them at their next login."
                )
            else:
                ctx = recovery_context(recovery=recovery)
                for key in (case.data_key, case.person.data_key):
                    integrity.data_key_check(key)
                    ctx.data_key_unlock_recovery(
                        str(key.pk),
                        recovery=recovery,
                        sealed=bytes(key.recovery_sealed),
                        slot=key.erasure_slot,
                    )
                record = {
                    "case": str(case.pk),
                    "state": case.state,
                    "person": payload_read(ctx=ctx, record=case.person),
                    "record": payload_read(ctx=ctx, record=case),
                }
                self.stdout.write(json.dumps(record, ensure_ascii=False, indent=2))
                ctx.forget()
        except PermissionDenied as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        except (ValidationError, CryptoError) as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc

    def _recovery(self, path: Path | None) -> PersonalKey:
        try:
            return recovery_key_from_words(_words(path))
        except RecoveryWordsError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
