"""Anchors: the signed chain head, kept where someone who writes to the database cannot reach.

An anchor is one line of text::

    SEQ:HASH AT SIGNATURE [kept KEPT_AT]

``SEQ:HASH`` names the last entry of the chain when the anchor was taken, ``AT`` its time (``-``
for the empty chain), ``SIGNATURE`` this server's signature of the head
(:mod:`haven.audit.signing`) and ``KEPT_AT`` when ``haven audit anchor`` wrote the line. The
whole line is what to print, e-mail or paste into ``--verify-against``; only ``SEQ:HASH`` is
required.

``haven audit anchor`` appends one line to ``HAVEN_AUDIT_ANCHOR_FILE``: a file outside the data
directory (and away from the database), created with mode 0600 and only ever appended to, which
``haven audit verify`` reads every time. An entry that is no longer in the chain with the hash an
anchor names was rewritten or removed after the anchor was kept, whatever the database says.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.dateparse import parse_datetime

from haven.audit.chain import HASH_LENGTH, format_at

_REFERENCE = re.compile(rf"^(\d{{1,19}}):([0-9a-fA-F]{{{HASH_LENGTH}}})$")
_SIGNATURE = re.compile(r"^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{86}$")
# Lines longer than this are not anchors (and are not read whole).
MAX_LINE = 1_000


class AnchorFileError(Exception):
    """The anchor file cannot be used: where it is, its mode, or reading or writing it."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    entry_hash: str
    at: dt.datetime | None
    signature: str = ""
    kept_at: dt.datetime | None = None
    line: int | None = None  # its line in the anchor file

    @property
    def reference(self) -> str:
        """``seq:hash``, what ``--verify-against`` needs at least."""
        return f"{self.seq}:{self.entry_hash}"

    @property
    def text(self) -> str:
        """The line to print or keep: reference, time of the last entry, signature."""
        when = format_at(self.at) if self.at is not None else "-"
        return " ".join(part for part in (self.reference, when, self.signature) if part)

    def __str__(self) -> str:
        return self.text

    def where(self) -> str:
        return f"line {self.line} of the anchor file" if self.line is not None else "the anchor"


def parse_anchor(text: str) -> tuple[int, str]:
    """``"seq:hash"`` (anything after whitespace, like the time, is ignored) -> (seq, hash)."""
    tokens = text.split(maxsplit=1) if len(text) <= MAX_LINE else []
    seq, entry_hash, *_rest = _parse(tokens[0] if tokens else "")
    return seq, entry_hash


def parse_anchor_line(text: str, *, line: int | None = None) -> Anchor:
    """A whole anchor line (or just its ``seq:hash``) -> :class:`Anchor`; ValueError if not one."""
    seq, entry_hash, at, signature, kept_at = _parse(text)
    return Anchor(seq, entry_hash, at, signature, kept_at, line)


def _parse(text: str) -> tuple[int, str, dt.datetime | None, str, dt.datetime | None]:
    tokens = text.split() if len(text) <= MAX_LINE else []
    match = _REFERENCE.match(tokens[0]) if tokens else None
    if match is None:
        raise ValueError(
            'an anchor looks like "1234:<64 hexadecimal digits>" (as printed by haven audit anchor)'
        )
    rest = tokens[1:]
    kept_at = None
    if "kept" in rest:  # "... kept TIME": when haven audit anchor wrote the line
        index = rest.index("kept")
        kept_at = _time(rest[index + 1]) if index + 1 < len(rest) else None
        rest = rest[:index]
    at = _time(rest[0]) if rest else None
    signature = rest[1] if len(rest) > 1 else ""
    if len(rest) > 2 or (signature and not _SIGNATURE.match(signature)):
        raise ValueError("the anchor's signature is not in the form haven audit anchor prints")
    return int(match.group(1)), match.group(2).lower(), at, signature, kept_at


def _time(text: str) -> dt.datetime | None:
    if text == "-":
        return None
    parsed = parse_datetime(text)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


# -- the anchor file -----------------------------------------------------------------------------


def anchor_file() -> Path | None:
    """``HAVEN_AUDIT_ANCHOR_FILE``, or None when no file is configured."""
    value = getattr(settings, "HAVEN_AUDIT_ANCHOR_FILE", None)
    return Path(value) if value else None


def _database_dirs() -> list[Path]:
    dirs = [Path(settings.DATA_DIR)]
    database = settings.DATABASES["default"]
    if "sqlite" in database["ENGINE"] and str(database.get("NAME") or "").startswith("/"):
        dirs.append(Path(database["NAME"]).parent)
    return dirs


def anchor_file_problem(path: Path) -> str | None:
    """Why ``path`` is no place to keep anchors, or None.

    Inside the data directory (or the SQLite database's) it travels with the database: whoever
    can replace the one can replace the other, and a backup holds both.
    """
    if not path.is_absolute():
        return f"HAVEN_AUDIT_ANCHOR_FILE must be an absolute path, not {path}."
    resolved = path.resolve()
    for directory in _database_dirs():
        if resolved.is_relative_to(directory.resolve()):
            return (
                f"HAVEN_AUDIT_ANCHOR_FILE ({path}) is inside {directory}, beside the database: "
                "keep anchors where whoever can write the database cannot reach them."
            )
    return None


def anchors_read(path: Path) -> tuple[list[Anchor], list[str]]:
    """The anchors kept in ``path`` (oldest first) and what is wrong with lines that are not.

    A missing file holds no anchors yet; a file that cannot be read raises AnchorFileError.
    """
    anchors: list[Anchor] = []
    problems: list[str] = []
    try:
        handle = path.open("r", encoding="ascii", errors="replace")
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise AnchorFileError(f"{path} cannot be read ({exc.strerror}).") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            try:
                anchors.append(parse_anchor_line(text, line=number))
            except ValueError as exc:
                problems.append(f"line {number} of the anchor file is not an anchor: {exc}")
    return anchors, problems


def anchor_append(path: Path, anchor: Anchor, *, kept_at: dt.datetime) -> str:
    """Append ``anchor`` to ``path`` (created 0600) and force it to disk; returns the line."""
    problem = anchor_file_problem(path)
    if problem:
        raise AnchorFileError(problem)
    line = f"{anchor.text} kept {format_at(kept_at)}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AnchorFileError(f"{path} cannot be opened for appending ({exc.strerror}).") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise AnchorFileError(f"{path} is not a regular file.")
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise AnchorFileError(
                f"{path} can be written by other users of this machine; run `chmod 600 {path}`."
            )
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    except OSError as exc:
        raise AnchorFileError(f"{path} cannot be written ({exc.strerror}).") from exc
    finally:
        os.close(fd)
    return line.rstrip("\n")
