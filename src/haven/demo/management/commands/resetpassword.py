"""`haven resetpassword NAME`: an administrator sets a new password for someone who forgot it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.accounts.services import user_password_reset
from haven.demo.management.prompts import read_password


class Command(BaseCommand):
    help = (
        "Set a new password for a staff member. Their key pair is replaced, so they lose access "
        "to every case until a colleague grants it again or the recovery key restores it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password-file", type=Path, help="read the new password from here")
        parser.add_argument(
            "--reset-two-factor",
            action="store_true",
            help="also remove their authenticator (only if they lost it and their recovery codes; "
            "whoever knows the new password can then enrol one in their name)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"].strip()).first()
        if user is None:
            raise CommandError(f"No staff member named {options['username']!r}; nothing changed.")
        password = read_password(options["password_file"])
        try:
            lost = user_password_reset(
                actor=None,
                user=user,
                new_password=password,
                reset_two_factor=options["reset_two_factor"],
            )
        except ValidationError as exc:
            raise CommandError(f"{' '.join(exc.messages)} Nothing was changed.") from exc
        self.stdout.write(
            f"{user.username} has a new password and a new key. Their access to {lost} records "
            "is lost until a supervisor restores it on the Keys page (for what the supervisor "
            f"holds) or `haven recover restore-access {user.username}` runs with the recovery "
            "words. They also wait for their team keys on the Keys page."
        )
