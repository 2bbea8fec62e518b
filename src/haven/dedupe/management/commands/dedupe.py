"""`haven dedupe --supervisor NAME`: a full duplicate pass, with a progress bar.

Computes the encodings still pending (people recorded through the portal, or by someone who did
not hold the index key), compares everyone on their keyed encodings and replaces the review
queue shown to intake and supervisors on the Duplicates page. With ``--train`` it first trains
the Fellegi–Sunter model by EM on the organisation's own encodings and stores its parameters:
the pass, the request page and later passes then score with them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.crypto import CryptoError
from haven.dedupe.scoring import REVIEW_THRESHOLD
from haven.dedupe.services import dedupe_run, match_model_train
from haven.demo.management.progress import ProgressBar
from haven.demo.management.prompts import read_password
from haven.vault.context import context_for
from haven.vault.services import user_key_open


def supervisor_context(name: str, password_file: Path | None) -> tuple[User, Any]:
    """An active supervisor and their key context, opened with their password."""
    user = User.objects.filter(username=name.strip()).first()
    if user is None or not hasattr(user, "key"):
        raise CommandError(f"No staff member named {name!r} with a key pair.")
    if user.role != "supervisor" or not user.is_active:
        raise CommandError(f"{user.username} is not an active supervisor.")
    password = read_password(password_file)
    try:
        key = user_key_open(user=user, password=password)
    except CryptoError as exc:
        raise CommandError("The password does not unlock the key; nothing was changed.") from exc
    return user, context_for(user, key)


def _stream(wrapper: Any) -> TextIO:
    """The stream under a command's OutputWrapper (which would break tqdm's carriage returns)."""
    return cast(TextIO, getattr(wrapper, "_out", sys.stderr))


def probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--threshold must be a number, not {value!r}.") from None
    if not 0.0 < number < 1.0:
        raise CommandError("--threshold must be between 0 and 1 (exclusive).")
    return number


class Command(BaseCommand):
    help = "Find possible duplicates among everyone (on keyed encodings) for the review queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--supervisor", required=True, help="a supervisor who runs it")
        parser.add_argument("--password-file", type=Path, help="their password (else asked)")
        parser.add_argument(
            "--threshold",
            default=str(REVIEW_THRESHOLD),
            help=f"lowest probability proposed for review (default {REVIEW_THRESHOLD})",
        )
        parser.add_argument("--batch", type=int, default=200, help="people encoded per transaction")
        parser.add_argument(
            "--train",
            action="store_true",
            help="train the model on our own encodings (EM) and store it before the pass",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        threshold = probability(options["threshold"])
        if not 1 <= options["batch"] <= 100_000:
            raise CommandError("--batch must be between 1 and 100000.")
        user, ctx = supervisor_context(options["supervisor"], options["password_file"])
        try:
            if options["train"]:
                stored = match_model_train(
                    ctx=ctx,
                    actor=user,
                    progress=ProgressBar("encoding pending people", stream=_stream(self.stderr)),
                    batch=options["batch"],
                )
                self.stdout.write(
                    f"Model trained on {stored.people} people ({stored.candidates} candidate "
                    "pairs) and stored; it scores from now on."
                )
                for warning in stored.parameters.get("warnings") or []:
                    self.stdout.write(f"The model was flagged: {warning}")
            run = dedupe_run(
                ctx=ctx,
                actor=user,
                threshold=threshold,
                progress=ProgressBar("encoding pending people", stream=_stream(self.stderr)),
                batch=options["batch"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        finally:
            ctx.forget()
        self.stdout.write(str(run))
