"""`haven keys rotate-user NAME` and `haven keys rotate-index`: replace exposed keys.

Both run in batches, each its own transaction, with a progress bar; interrupted, they resume
where they stopped when run again, and nobody loses access half-way: the old key keeps working
until one final transaction swaps to the new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.crypto import CryptoError
from haven.demo.management.progress import ProgressBar
from haven.demo.management.prompts import read_password
from haven.vault.services import (
    user_key_rotation_finish,
    user_key_rotation_start,
    user_key_rotation_step,
)


class Command(BaseCommand):
    help = "Replace a person's exposed key pair, or the organisation's search index key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        user = sub.add_parser("rotate-user", help="new key pair for NAME; re-seal all they hold")
        user.add_argument("username")
        user.add_argument("--password-file", type=Path, help="their password (else asked)")
        user.add_argument("--batch", type=int, default=500, help="grants per transaction")
        index = sub.add_parser(
            "rotate-index", help="rebuild every search token under a new index key"
        )
        index.add_argument("--supervisor", required=True, help="a supervisor who runs it")
        index.add_argument("--password-file", type=Path, help="their password (else asked)")
        index.add_argument("--batch", type=int, default=500, help="records per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch"] <= 100_000:
            raise CommandError("--batch must be between 1 and 100000.")
        try:
            if options["action"] == "rotate-user":
                self._rotate_user(options)
            else:
                self._rotate_index(options)
        except CryptoError as exc:
            raise CommandError(
                "The password does not unlock the key; nothing more was changed."
            ) from exc
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc

    def _user(self, name: str) -> User:
        user = User.objects.filter(username=name.strip()).first()
        if user is None or not hasattr(user, "key"):
            raise CommandError(f"No staff member named {name!r} with a key pair.")
        return user

    def _rotate_user(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        password = read_password(options["password_file"])
        started = user_key_rotation_start(actor=None, user=user, password=password)
        if not started:
            self.stdout.write("A replacement was under way: resuming it.")
        bar = ProgressBar(f"re-sealing {user.username}'s grants")
        while True:
            progress = user_key_rotation_step(user=user, password=password, batch=options["batch"])
            bar(progress.done, progress.total)
            if progress.done >= progress.total:
                break
        moved = user_key_rotation_finish(actor=None, user=user, password=password)
        self.stdout.write(
            f"{user.username} has a new key pair; {moved} grants and their team keys are sealed "
            "to it, and their sessions and API tokens were ended. The old key opens nothing "
            "stored any more (data it already opened may be known to whoever had it)."
        )

    def _rotate_index(self, options: dict[str, Any]) -> None:
        from haven.vault.index_rotation import index_key_rotate

        supervisor = self._user(options["supervisor"])
        password = read_password(options["password_file"])
        bar = ProgressBar("re-indexing")
        result = index_key_rotate(
            supervisor=supervisor, password=password, batch=options["batch"], progress=bar
        )
        self.stdout.write(str(result))
