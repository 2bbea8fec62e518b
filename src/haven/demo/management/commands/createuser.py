"""`haven createuser USERNAME --role ROLE`: create a staff account from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from haven.accounts.models import Role, Team, User
from haven.accounts.services import user_create, user_set_partner
from haven.demo.management.prompts import read_password
from haven.referrals.models import Partner
from haven.validation import clean_text


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{'' if field == '__all__' else field + ': '}{' '.join(messages)}"
            for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create a staff account. The password is asked twice, or read from --password-file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role", required=True, help=f"one of: {', '.join(Role.values)}", metavar="ROLE"
        )
        parser.add_argument("--team", help="team name; created if it does not exist yet")
        parser.add_argument(
            "--partner", help="for partner liaisons: the name of their (existing) partner agency"
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            help="read the password from this file (first line) instead of asking",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = self._username(options["username"])
        role = options["role"]
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}; choose one of: {', '.join(Role.values)}.")
        team_name = None
        if options["team"] is not None:
            try:
                team_name = clean_text(
                    options["team"], field="team", max_length=80, required=True, multiline=False
                )
            except ValidationError as exc:
                raise CommandError(f"Bad team name: {_messages(exc)}") from exc
        partner = None
        if options["partner"]:
            partner = Partner.objects.filter(name__iexact=options["partner"].strip()).first()
            if partner is None:
                raise CommandError(f"No partner named {options['partner']!r}.")
        elif role == Role.PARTNER_LIAISON:
            raise CommandError("A partner liaison needs --partner NAME (their agency).")
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"The username {username!r} is taken; nothing was changed.")
        password = read_password(options["password_file"])
        try:
            with transaction.atomic():
                team = Team.objects.get_or_create(name=team_name)[0] if team_name else None
                user = user_create(username=username, password=password, role=role, team=team)
                if partner is not None:
                    user_set_partner(actor=None, user=user, partner=partner)
        except ValidationError as exc:
            raise CommandError(f"{_messages(exc)} Nothing was changed.") from exc
        where = f" in team {team.name}" if team else ""
        self.stdout.write(f"Created {user.username} ({Role(role).label}{where}).")

    @staticmethod
    def _username(raw: str) -> str:
        username = raw.strip()
        if not username or len(username) > 150:
            raise CommandError("A username of 1 to 150 characters is required.")
        try:
            User.username_validator(username)
        except ValidationError as exc:
            raise CommandError(
                f"{username!r} is not a valid username: use letters, digits and @ . + - _ only."
            ) from exc
        return username
