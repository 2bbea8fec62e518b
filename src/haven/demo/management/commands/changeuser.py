"""`haven changeuser NAME [--role R] [--team T | --no-team] [--deactivate | --activate]`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import Role, Team, User
from haven.accounts.services import user_update


class Command(BaseCommand):
    help = (
        "Change a staff member's role, team or whether they may log in. Team keys they no longer "
        "need are taken away at once; new ones wait for a supervisor to share them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", help=f"one of: {', '.join(Role.values)}")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--team", help="name of an existing team")
        group.add_argument("--no-team", action="store_true", help="take them out of their team")
        active = parser.add_mutually_exclusive_group()
        active.add_argument("--deactivate", action="store_true", help="they may no longer log in")
        active.add_argument("--activate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"].strip()).first()
        if user is None:
            raise CommandError(f"No staff member named {options['username']!r}; nothing changed.")
        team: Team | None | str = ""
        if options["no_team"]:
            team = None
        elif options["team"]:
            found = Team.objects.filter(name=options["team"].strip()).first()
            if found is None:
                raise CommandError(f"No team named {options['team']!r}; nothing was changed.")
            team = found
        is_active = True if options["activate"] else False if options["deactivate"] else None
        try:
            user_update(actor=None, user=user, role=options["role"], team=team, is_active=is_active)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(
                f"{' '.join(getattr(exc, 'messages', [str(exc)]))} Nothing changed."
            ) from exc
        self.stdout.write(
            f"{user.username}: {user.get_role_display()}, team {user.team or '-'}, "
            f"{'active' if user.is_active else 'deactivated'}. A supervisor shares any team key "
            "they now need, and replaces any key they left, on the Keys page."
        )
