"""`haven stats`: the attacker's audit of every published release, releases, and counting cases
recorded before statistics existed.

    haven stats audit --user NAME               every published release, against those before it
    haven stats release list
    haven stats release prepare --user NAME --start 2025-01 --end 2025-12 --grain quarter \\
        --table requests:period:channel --table people:occupation
    haven stats release approve ID --user NAME  (a supervisor other than whoever prepared it)
    haven stats backfill --user NAME            (a supervisor)

Each needs a person who holds the statistics key (a press officer or a supervisor): their
password is asked on the terminal, or read from --password-file. Exit status 1 when an audit
finds a figure narrower than its release's protection level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.accounts.models import User
from haven.crypto import CryptoError, KeyContext
from haven.demo.management.prompts import read_password
from haven.stats import selectors, services
from haven.stats.models import Release
from haven.vault.context import context_for
from haven.vault.services import user_key_open


class Command(BaseCommand):
    help = "Statistics: audit published releases, prepare and approve releases, count old cases."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        audit = sub.add_parser("audit", help="audit every published release")
        self._person(audit)
        release = sub.add_parser("release", help="list, prepare or approve releases")
        steps = release.add_subparsers(dest="step", required=True)
        steps.add_parser("list", help="the releases")
        prepare = steps.add_parser("prepare", help="compute, protect and audit a release")
        self._person(prepare)
        prepare.add_argument("--start", required=True, help="first month, YYYY-MM")
        prepare.add_argument("--end", required=True, help="last month, YYYY-MM (closed)")
        prepare.add_argument("--grain", default="year", choices=["year", "quarter", "month"])
        prepare.add_argument(
            "--table", action="append", default=[], help="measure:rows[:columns] (repeat)"
        )
        prepare.add_argument("--policy", default="suppress", choices=["suppress", "round"])
        prepare.add_argument("--k", help="figures below this are kept back (at least 2)")
        prepare.add_argument("--protection", help="narrowest range allowed to an attacker")
        prepare.add_argument("--zeros", action="store_true", help="zeros are disclosive too")
        prepare.add_argument("--rounding-base", help="round to multiples of this")
        prepare.add_argument("--title", default="")
        approve = steps.add_parser("approve", help="publish a prepared release")
        approve.add_argument("release")
        self._person(approve)
        backfill = sub.add_parser("backfill", help="count cases recorded before statistics")
        self._person(backfill)
        backfill.add_argument("--limit", type=int, default=500, help="cases per transaction")

    @staticmethod
    def _person(parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="who does it (holds the key)")
        parser.add_argument("--password-file", type=Path, help="their password (else asked)")

    def _context(self, options: dict[str, Any]) -> tuple[User, KeyContext]:
        user = User.objects.filter(username=options["user"].strip(), is_active=True).first()
        if user is None or not hasattr(user, "key"):
            raise CommandError(f"No active staff member named {options['user']!r} with a key pair.")
        password = read_password(options["password_file"])
        try:
            return user, context_for(user, user_key_open(user=user, password=password))
        except CryptoError as exc:
            raise CommandError("The password does not unlock the key.") from exc

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "audit":
                self._audit(options)
            elif options["action"] == "backfill":
                self._backfill(options)
            elif options["step"] == "list":
                self._list()
            elif options["step"] == "prepare":
                self._prepare(options)
            else:
                self._approve(options)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc

    def _audit(self, options: dict[str, Any]) -> None:
        user, ctx = self._context(options)
        results = selectors.releases_audit(ctx=ctx, actor=user)
        failed = 0
        for release, outcome in results:
            bad = [f for f in outcome.findings if not f.ok]
            failed += bool(bad)
            narrowest = min((f.interval.width for f in outcome.findings), default=None)
            self.stdout.write(
                f"{release.pk} {release.start}–{release.end} {release.grain}: "
                f"{len(outcome.findings)} figures checked, narrowest range "
                f"{'-' if narrowest is None else narrowest} (needs {release.protection}): "
                + ("FAILS" if bad else "passes")
            )
            for finding in bad:
                self.stdout.write(
                    f"  {finding.figure.cell.population} {dict(finding.figure.cell.where)}: "
                    f"{finding.interval.low}–{finding.interval.high}"
                )
        self.stdout.write(f"{len(results)} published releases audited, {failed} failing.")
        if failed:
            raise SystemExit(1)

    def _list(self) -> None:
        for release in Release.objects.order_by("-prepared_at"):
            self.stdout.write(
                f"{release.pk} {release.status:9} {release.start}–{release.end} {release.grain:7} "
                f"{len(release.tables)} tables, {release.suppressed}/{release.figures} kept back"
            )

    def _prepare(self, options: dict[str, Any]) -> None:
        user, ctx = self._context(options)
        policy = services.policy_clean(
            method=options["policy"],
            k=options["k"],
            protection=options["protection"],
            zeros=options["zeros"] or None,
            base=options["rounding_base"],
        )
        ask = services.release_request_clean(
            start=options["start"],
            end=options["end"],
            grain=options["grain"],
            tables=options["table"],
            policy=policy,
            title=options["title"],
        )
        release = services.release_prepare(ctx=ctx, actor=user, ask=ask)
        self.stdout.write(
            f"Prepared {release.pk}: {release.figures} figures, {release.suppressed} kept back; "
            "audited. A supervisor other than you approves it to publish it."
        )

    def _approve(self, options: dict[str, Any]) -> None:
        user, ctx = self._context(options)
        release = (
            Release.objects.filter(pk=options["release"]).first()
            if _uuid(options["release"])
            else None
        )
        if release is None:
            raise CommandError("No such release.")
        release = services.release_approve(
            ctx=ctx, actor=user, release=release, expected_version=release.version
        )
        self.stdout.write(f"Published {release.pk}.")

    def _backfill(self, options: dict[str, Any]) -> None:
        user, ctx = self._context(options)
        while True:
            done, left = services.case_facts_backfill(ctx=ctx, actor=user, limit=options["limit"])
            self.stdout.write(f"{done} cases counted, {left} left.")
            if not left or not done:
                break


def _uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return True
