"""`haven audit`: verify the hash-chained audit trail, keep anchors of its signed head.

haven audit verify [--quiet] [--anchor LINE ...]
                                      exit 0: intact; 1: problems, each named with its seq
haven audit anchor                    print the signed head and keep it in HAVEN_AUDIT_ANCHOR_FILE
haven audit anchor --verify-against LINE
                                      exit 0: that entry is still in the chain; 1: it is not
haven audit sign-head [--anchor LINE ...] [--without-anchor]
                                      sign the head again after an investigation
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from haven.audit.selectors import (
    VerifyResult,
    audit_anchor_check,
    audit_chain_length,
    audit_verify,
)
from haven.audit.services import AuditRefusedError, audit_anchor_keep, audit_head_sign

PROGRESS_FROM = 10_000  # entries; smaller chains verify in well under a second


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain, its signed head and the kept anchors; keep an "
        "anchor of the head; or sign the head again after an investigation."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{verify,anchor,sign-head}"
        )
        verify = actions.add_parser(
            "verify",
            help="walk the whole chain, check the head's signature and every kept anchor; exit "
            "status 1 and a list of problems if anything is wrong",
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
        verify.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="LINE",
            help="also check an anchor printed earlier (repeatable)",
        )
        anchor = actions.add_parser(
            "anchor",
            help="print the signed chain head and append it to HAVEN_AUDIT_ANCHOR_FILE",
        )
        anchor.add_argument(
            "--verify-against",
            metavar="LINE",
            help="check that an anchor printed earlier is still part of the chain",
        )
        sign = actions.add_parser(
            "sign-head",
            help="after an investigation: verify the chain against the anchors, then sign its "
            "head with this server's key",
        )
        sign.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="LINE",
            help="an anchor printed earlier and kept elsewhere, to check the chain against",
        )
        sign.add_argument(
            "--without-anchor",
            action="store_true",
            help="sign although no anchor is kept or given (you checked the chain another way)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self.verify(
                quiet=options.get("quiet", False),
                limit=options.get("max_problems", 100),
                anchors=options.get("anchor") or [],
            )
        elif action == "anchor":
            self.anchor(options.get("verify_against"))
        else:
            self.sign_head(
                anchors=options.get("anchor") or [],
                without_anchor=options.get("without_anchor", False),
            )

    def verify(self, *, quiet: bool, limit: int, anchors: list[str]) -> None:
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
            try:
                result = audit_verify(max_problems=limit, progress=bar.update, anchors=anchors)
            except ValueError as exc:
                raise CommandError(f"--anchor: {exc}", returncode=2) from exc
        if result.ok:
            self.stdout.write(
                f"Audit trail intact: {result.entries} entries, seq 1..{result.head_seq or 0}; "
                "every entry matches its hash and links to the one before, and the head "
                f"({result.head_seq or 0}:{result.head_hash}) is the last entry, signed by this "
                f"server; {self._anchors(result)}."
            )
            self._notes(result)
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
        self._notes(result)
        sys.exit(1)

    @staticmethod
    def _anchors(result: VerifyResult) -> str:
        n = result.anchors_checked
        return "no anchor checked" if n == 0 else f"{n} anchor{'s' if n != 1 else ''} checked"

    def _notes(self, result: VerifyResult) -> None:
        for note in result.notes:
            self.stderr.write(f"Note: {note}.")

    def anchor(self, reference: str | None) -> None:
        if reference is None:
            try:
                anchor, kept = audit_anchor_keep()
            except AuditRefusedError as exc:
                self.stderr.write(str(exc))
                sys.exit(1)
            self.stdout.write(anchor.text)
            if kept is None:
                self.stderr.write(
                    "HAVEN_AUDIT_ANCHOR_FILE is not set, so this anchor is kept nowhere: print it "
                    "or send it where the server cannot change it, and check it later with "
                    f'haven audit anchor --verify-against "{anchor.reference}"'
                )
            else:
                self.stderr.write(
                    "Kept in the anchor file; haven audit verify checks it every time. Print "
                    "it or send it elsewhere too: a copy off this machine survives its compromise."
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

    def sign_head(self, *, anchors: list[str], without_anchor: bool) -> None:
        try:
            entry = audit_head_sign(anchors=anchors, without_anchor=without_anchor)
        except ValueError as exc:
            raise CommandError(f"--anchor: {exc}", returncode=2) from exc
        except AuditRefusedError as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        self.stdout.write(
            f"Head signed: seq {entry.seq - 1} ({entry.detail.get('was')} before), then entry "
            f"{entry.seq} (audit.head_signed) was written and signed. Run haven audit anchor now."
        )
