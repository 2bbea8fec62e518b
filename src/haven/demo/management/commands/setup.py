"""`haven setup --supervisor NAME`: create the organisation's keys and its first supervisor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.demo.management.prompts import read_password
from haven.vault.models import OrgKeys
from haven.vault.services import org_setup

RECOVERY_NOTICE = """\
ORGANISATION RECOVERY WORDS - shown this once, stored nowhere.

With these 24 words, `haven recover` can restore anyone's access and open any record after a
disaster. Without them, a person whose password is reset loses what only they held.

  {first}
  {second}

Write them on paper now. Keep them offline, split between two trusted people (for example words
1-12 with one and 13-24 with the other, each in a sealed envelope in a different safe place), and
never type them into a networked machine except to run `haven recover`. See docs/security.md.
"""


class Command(BaseCommand):
    help = (
        "Set up a new organisation: the recovery key (printed once as 24 words), the intake, "
        "supervisors and all-staff keys, and the first supervisor, who holds them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--supervisor", required=True, help="username of the first supervisor")
        parser.add_argument("--first-name", default="", help="their first name")
        parser.add_argument(
            "--password-file", type=Path, help="read their password from this file (first line)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if OrgKeys.objects.exists():
            raise CommandError("This organisation is already set up; nothing was changed.")
        password = read_password(options["password_file"])
        try:
            setup = org_setup(
                username=options["supervisor"].strip(),
                password=password,
                first_name=options["first_name"],
            )
        except ValidationError as exc:
            raise CommandError(f"{' '.join(exc.messages)} Nothing was changed.") from exc
        words = setup.recovery_words
        self.stdout.write(
            RECOVERY_NOTICE.format(first=" ".join(words[:12]), second=" ".join(words[12:]))
        )
        self.stdout.write(
            f"Created the organisation's keys and supervisor {options['supervisor'].strip()}. "
            "Add staff with `haven createuser`; a supervisor then gives them their team keys "
            "on the Keys page."
        )
