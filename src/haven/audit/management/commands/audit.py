"""`haven audit verify` and `haven audit anchor`: check the hash-chained audit trail.

haven audit verify [--quiet]          exit 0: intact; 1: problems, each named with its seq
haven audit anchor                    print the chain head to keep elsewhere
haven audit anchor --verify-against "SEQ:HASH"
                                      exit 0: that entry is still in the chain; 1: it is not
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from haven.audit.selectors import (
    audit_anchor,
    audit_anchor_check,
    audit_chain_length,
    audit_verify,
)

PROGRESS_FROM = 10_000  # entries; smaller chains verify in well under a second


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain, or export and check an anchor of its head."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{verify,anchor}")
        verify = actions.add_parser(
            "verify",
            help="walk the whole chain; exit status 1 and a list of problems if it is broken",
        )
        verify.add_argument(
            "--quiet", action="store_true", help="no progress bar (it goes to standard error)"
        )
        verify.add_argument(
            "--max-problems",
            type=int,
            default=100,
            help="list at most this many problems (the rest are counted); default 100",
        )
        anchor = actions.add_parser(
            "anchor",
            help="print the chain head (seq:hash and time) to print or send elsewhere",
        )
        anchor.add_argument(
            "--verify-against",
            metavar="SEQ:HASH",
            help="check that an anchor printed earlier is still part of the chain",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self.verify(quiet=options.get("quiet", False), limit=options.get("max_problems", 100))
        else:
            self.anchor(options.get("verify_against"))

    def verify(self, *, quiet: bool, limit: int) -> None:
        if limit < 1:
            raise CommandError("--max-problems must be at least 1", returncode=2)
        total = audit_chain_length()
        stream = getattr(self.stderr, "_out", sys.stderr)
        show = not quiet and total >= PROGRESS_FROM
        with tqdm(
            total=total,
            unit=" entries",
            unit_scale=True,
            file=stream,
            disable=None if show else True,
            desc="verifying",
        ) as bar:
            result = audit_verify(max_problems=limit, progress=bar.update)
        if result.ok:
            self.stdout.write(
                f"Audit trail intact: {result.entries} entries, seq 1..{result.head_seq or 0}; "
                "every entry matches its hash and links to the one before, and the head "
                f"({result.head_seq or 0}:{result.head_hash}) is the last entry."
            )
            return
        noun = "problem" if result.problem_count == 1 else "problems"
        self.stdout.write(
            f"Audit trail BROKEN: {result.problem_count} {noun} in {result.entries} entries "
            f"(head at seq {result.head_seq if result.head_seq is not None else 'missing'}):"
        )
        for problem in result.problems:
            self.stdout.write(f"  {problem}")
        if result.unlisted:
            self.stdout.write(f"  ... and {result.unlisted} more not listed")
        sys.exit(1)

    def anchor(self, reference: str | None) -> None:
        if reference is None:
            anchor = audit_anchor()
            self.stdout.write(str(anchor))
            self.stderr.write(
                "Keep this line where the server cannot change it; check it later with "
                f'haven audit anchor --verify-against "{anchor.reference}"'
            )
            return
        try:
            check = audit_anchor_check(reference)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if check.ok:
            self.stdout.write(f"Anchor OK: {check.message}")
            return
        self.stdout.write(f"Anchor NOT in the chain: {check.message}")
        sys.exit(1)
