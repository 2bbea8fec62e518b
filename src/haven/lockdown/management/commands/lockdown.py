"""`haven lockdown status | start --supervisor NAME [--drill] | lift --first A --second B`.

Lifting needs two different supervisors, each typing their password (and their authenticator
code when they have one) at this terminal.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.accounts.two_factor import second_factor_verify, totp_device
from haven.lockdown.services import lockdown_active, lockdown_lift, lockdown_start


class Command(BaseCommand):
    help = "Show, start (or rehearse) and lift a lockdown."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="is Haven locked down?")
        start = sub.add_parser("start", help="end every session and suspend logins")
        start.add_argument("--supervisor", required=True)
        start.add_argument("--drill", action="store_true", help="rehearse: change nothing")
        lift = sub.add_parser("lift", help="two supervisors lift the lockdown")
        lift.add_argument("--first", required=True)
        lift.add_argument("--second", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "status":
                active = lockdown_active()
                self.stdout.write(
                    f"Locked down since {active.started_at:%Y-%m-%d %H:%M}."
                    if active
                    else "Not locked down."
                )
            elif options["action"] == "start":
                actor = self._prove(options["supervisor"])
                lockdown = lockdown_start(actor=actor, drill=options["drill"])
                verb = "would end" if lockdown.drill else "ended"
                self.stdout.write(
                    f"{'Drill: ' if lockdown.drill else 'Locked down. '}{verb} "
                    f"{lockdown.sessions_ended} sessions and {lockdown.tokens_ended} API tokens."
                )
            else:
                first = self._prove(options["first"])
                second = self._prove(options["second"])
                lockdown_lift(first=first, second=second)
                self.stdout.write("The lockdown is lifted; people can log in again.")
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc

    def _prove(self, username: str) -> User:
        """The supervisor types their password (and code) here; never from the command line."""
        user = User.objects.filter(username=username.strip()).first()
        if user is None:
            raise CommandError(f"No staff member named {username!r}.")
        password = self._ask(f"{user.username}'s password: ")
        if not (user.is_active and user.check_password(password)):
            raise CommandError(f"Wrong password for {user.username}; nothing was changed.")
        if totp_device(user) is not None:
            try:
                second_factor_verify(user=user, code=self._ask(f"{user.username}'s code: "))
            except ValidationError as exc:
                raise CommandError(f"Wrong code for {user.username}; nothing was changed.") from exc
        return user

    @staticmethod
    def _ask(prompt: str) -> str:
        if sys.stdin.isatty():
            try:
                return getpass.getpass(prompt)
            except EOFError as exc:
                raise CommandError("Nothing typed; nothing was changed.") from exc
        return sys.stdin.readline().rstrip("\n")
