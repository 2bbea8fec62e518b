"""`haven link encode` and `haven link match`: private record linkage with a partner.

Both organisations agree a linkage passphrase out of band (at least 16 characters, in a file
on each side) and a linkage name. Each side runs ``haven link encode`` over its own records and
gets an encodings file with no names or other values in it, only keyed Bloom filters and tokens
under the linkage secret; ``haven link match A B`` compares two such files (no database needed)
and lists the matching pairs by local ids. A file made under another secret or linkage name is
refused with a clear message rather than silently matching nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haven.crypto import LinkageSecret, LinkageSecretError
from haven.dedupe.management.commands.dedupe import probability, supervisor_context
from haven.dedupe.scoring import MIN_TRAIN_LINK, link_with_fixed_model
from haven.demo.management.prompts import first_line_of
from haven.matching.linkage import (
    MAX_LINE,
    LinkageFileError,
    encode_linkage_file,
    load_linkage_file,
    match_linkage_files,
)
from haven.matching.model import DEFAULT_THRESHOLD

MAX_SECRET_FILE_BYTES = 4096
DEFAULT_MAX_MB = 2048  # an encodings file is about 1 KiB a record: two million records


def read_secret(path: Path, linkage: str) -> LinkageSecret:
    """The linkage secret from the passphrase on the first line of ``path``."""
    passphrase = first_line_of(
        path, what="secret file", too_large=" for a passphrase", limit=MAX_SECRET_FILE_BYTES
    )
    if not linkage.strip():
        raise CommandError("Name the linkage (--linkage NAME), the same on both sides.")
    try:
        return LinkageSecret.from_passphrase(passphrase, linkage=linkage.strip())
    except LinkageSecretError as exc:
        raise CommandError(str(exc)) from exc


def _capped_lines(handle: IO[str], name: str) -> Iterator[str]:
    """Lines of an encodings file, none read past the longest a record can be."""
    while True:
        line = handle.readline(MAX_LINE + 2)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise LinkageFileError(f"{name}: a line is too long (not an encodings file?)")
        yield line


def load(path: Path, secret: LinkageSecret, max_bytes: int) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    if size > max_bytes:
        raise CommandError(
            f"{path} is {size // (1 << 20)} MiB, over the limit of {max_bytes // (1 << 20)} MiB "
            "(raise it with --max-mb if the file is genuine)."
        )
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return load_linkage_file(
                lines=_capped_lines(handle, path.name), secret=secret, name=path.name
            )
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    except UnicodeDecodeError:
        raise CommandError(
            f"{path.name}: not a Haven linkage encodings file (not UTF-8 text)."
        ) from None
    except LinkageFileError as exc:
        raise CommandError(str(exc)) from exc


class Command(BaseCommand):
    help = "Private linkage with a partner: encode our records, or match two encodings files."
    requires_system_checks: list[str] = []  # `link match` needs no database
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        encode = sub.add_parser("encode", help="write our people's encodings (no names) to FILE")
        encode.add_argument("--secret-file", type=Path, required=True, help="the passphrase")
        encode.add_argument("--linkage", required=True, help="the linkage's agreed name")
        encode.add_argument("--out", type=Path, required=True, help="the encodings file")
        encode.add_argument("--supervisor", required=True, help="a supervisor who runs it")
        encode.add_argument("--password-file", type=Path, help="their password (else asked)")
        encode.add_argument("--force", action="store_true", help="replace FILE if it exists")
        match = sub.add_parser("match", help="list the matching pairs of two encodings files")
        match.add_argument("left", type=Path)
        match.add_argument("right", type=Path)
        match.add_argument("--secret-file", type=Path, required=True, help="the passphrase")
        match.add_argument("--linkage", required=True, help="the linkage's agreed name")
        match.add_argument(
            "--threshold",
            default=str(DEFAULT_THRESHOLD),
            help=f"lowest match probability listed (default {DEFAULT_THRESHOLD})",
        )
        match.add_argument(
            "--max-mb", type=int, default=DEFAULT_MAX_MB, help="refuse larger files (MiB)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "encode":
            self._encode(options)
        else:
            self._match(options)

    def _encode(self, options: dict[str, Any]) -> None:
        from haven.dedupe.selectors import linkage_records

        out: Path = options["out"]
        if out.exists() and not options["force"]:
            raise CommandError(f"{out} exists; choose another name or pass --force.")
        secret = read_secret(options["secret_file"], options["linkage"])
        user, ctx = supervisor_context(options["supervisor"], options["password_file"])
        try:
            records = linkage_records(ctx=ctx, user=user)
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        finally:
            ctx.forget()
        directory = out.resolve().parent
        fd, tmp = tempfile.mkstemp(prefix=".haven-link-", dir=directory)
        try:
            os.chmod(tmp, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                written = encode_linkage_file(records=records, secret=secret, out=handle)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.stdout.write(
            f"{written} people encoded to {out} (linkage {options['linkage'].strip()!r}); "
            f"{len(records) - written} left out for want of a name. The file holds no names, "
            "only encodings under the linkage secret, and our case ids as local ids."
        )

    def _match(self, options: dict[str, Any]) -> None:
        threshold = probability(options["threshold"])
        if options["max_mb"] < 1:
            raise CommandError("--max-mb must be at least 1.")
        max_bytes = options["max_mb"] << 20
        secret = read_secret(options["secret_file"], options["linkage"])
        left = load(options["left"], secret, max_bytes)
        right = load(options["right"], secret, max_bytes)
        if left.extra_fields != right.extra_fields:
            raise CommandError(
                "The two files encode different fields: "
                f"{list(left.extra_fields)} and {list(right.extra_fields)}."
            )
        small = min(len(left), len(right)) < MIN_TRAIN_LINK and not left.extra_fields
        try:
            if small:
                # EM cannot learn from a few hundred records: fixed parameters instead.
                found = link_with_fixed_model(left=left, right=right, threshold=threshold)
                rows = [(p.left_id, p.right_id, p.probability) for p in found]
            else:
                pairs, _result = match_linkage_files(left=left, right=right, threshold=threshold)
                rows = [(p.left_id, p.right_id, p.probability) for p in pairs]
        except LinkageFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write("left_id\tright_id\tprobability")
        for left_id, right_id, p in rows:
            self.stdout.write(f"{left_id}\t{right_id}\t{p:.4f}")
        model = "fixed model (files too small to train on)" if small else "model trained by EM"
        self.stderr.write(
            f"{len(rows)} matching pairs between {len(left)} and {len(right)} records; {model}."
        )
