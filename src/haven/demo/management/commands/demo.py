"""`haven demo`: migrate and create a demo organisation, then print the demo logins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from haven.accounts.models import User
from haven.demo.services import MIN_CASES, DemoSummary, demo_seed

LOGINS_FILE = "demo-logins.txt"


def _cases(value: str) -> int:
    import argparse

    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if not MIN_CASES <= number <= 5000:
        raise argparse.ArgumentTypeError(f"choose between {MIN_CASES} and 5000 cases")
    return number


def logins_text(summary: DemoSummary) -> str:
    width = max(8, *(len(login.username) for login in summary.logins))
    lines = [
        "Haven demo logins - DEMO ONLY, never use these on a real deployment.",
        f"Every demo user's password: {summary.password}",
        "Two-factor login is off under `make demo`; run `haven run` alone and each person",
        "enrols an authenticator app at their first login, as in production.",
        "",
        f"{'username':<{width}}  {'role':<17} {'team':<28} does",
    ]
    for login in summary.logins:
        lines.append(
            f"{login.username:<{width}}  {login.role:<17} {login.team or '-':<28} {login.does}"
        )
    if summary.recovery_words:
        words = summary.recovery_words
        lines += [
            "",
            "Organisation recovery words (demo only; a real organisation prints them once with",
            "`haven setup` and keeps them split between two people, offline):",
            "  " + " ".join(words[:12]),
            "  " + " ".join(words[12:]),
        ]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by the owner only (0600), replacing what was there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


class Command(BaseCommand):
    help = (
        "Create a demo organisation: users for every role, partners, brokers and realistic "
        "requests and cases over three years in every journey state. Prints the demo logins."
    )
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (successfully) when the database already has users",
        )
        parser.add_argument("--seed", type=int, default=2016, help="same seed, same demo data")
        parser.add_argument(
            "--cases", type=_cases, default=200, help="how many cases (default 200)"
        )
        parser.add_argument("--no-migrate", action="store_true", help="do not migrate first")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        logins_path = Path(settings.DATA_DIR) / LOGINS_FILE
        if User.objects.exists():
            if options["if_empty"]:
                where = f" (see {logins_path})" if logins_path.exists() else ""
                self.stdout.write(
                    f"Haven already has users; the demo data was left as it is{where}."
                )
                return
            raise CommandError(
                "This database already has users; `haven demo` only seeds an empty database. "
                "Use --if-empty to skip quietly, or point HAVEN_DATA_DIR / DATABASE_URL elsewhere."
            )
        self.stdout.write(f"Creating the demo organisation ({options['cases']} cases)...")
        summary = demo_seed(cases=options["cases"], seed=options["seed"], now=timezone.now())
        text = logins_text(summary)
        try:
            Path(settings.DATA_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private(logins_path, text)
            saved = f"(also saved to {logins_path}, readable by you only)"
        except OSError as exc:
            saved = f"(could not save them to {logins_path}: {exc.strerror})"
        counts = ", ".join(f"{n} {name}" for name, n in summary.counts.items())
        self.stdout.write(f"Done in {summary.seconds:.1f} s: {counts}.\n")
        self.stdout.write(text)
        self.stdout.write(saved)
