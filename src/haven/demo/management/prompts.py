"""Reading a password for a command: from a file, or asked twice on the terminal."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from django.core.management.base import CommandError

MAX_PASSWORD_FILE_BYTES = 4096


def first_line_of(
    path: Path, *, what: str, too_large: str = "", limit: int = MAX_PASSWORD_FILE_BYTES
) -> str:
    """The first line of a small UTF-8 secret file (a password, a passphrase); "" if empty.
    ``what`` names the file in errors ("password file"); ``too_large`` ends that error."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"Cannot read the {what} {path}: {exc.strerror}.") from exc
    if len(raw) > limit:
        raise CommandError(f"The {what} {path} is too large{too_large}.")
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CommandError(f"The {what} {path} is not UTF-8 text.") from exc
    return lines[0] if lines else ""


def read_password(path: Path | None) -> str:
    """The password from the first line of ``path``, or asked twice on the terminal."""
    if path is not None:
        password = first_line_of(path, what="password file")
        if not password:
            raise CommandError(f"The password file {path} is empty.")
        return password
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for a password on; use --password-file FILE.")
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
    except EOFError as exc:
        raise CommandError("No password given; nothing was changed.") from exc
    if first != second:
        raise CommandError("The two passwords differ; nothing was changed.")
    if not first:
        raise CommandError("The password cannot be empty.")
    return first


MAX_WORDS_FILE_BYTES = 4096


def read_words(path: Path | None) -> str:
    """The recovery words from ``path``, from standard input when it is not a terminal, or typed
    at a hidden prompt: never from the command line (shell history, the process list)."""
    if path is not None:
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_WORDS_FILE_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Cannot read the words file {path}: {exc.strerror}.") from exc
        if len(raw) > MAX_WORDS_FILE_BYTES:
            raise CommandError(f"The words file {path} is too large to hold 24 words.")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(f"The words file {path} is not UTF-8 text.") from exc
    if not sys.stdin.isatty():
        return sys.stdin.read(MAX_WORDS_FILE_BYTES)
    try:
        return getpass.getpass("Recovery words (24, in order; not shown): ")
    except EOFError as exc:
        raise CommandError("No recovery words given; nothing was changed.") from exc


def read_password_once(path: Path | None, *, prompt: str = "Password: ") -> str:
    """A password to unlock something (asked once, not twice as when one is chosen)."""
    if path is not None:
        password = first_line_of(path, what="password file")
        if not password:
            raise CommandError(f"The password file {path} is empty.")
        return password
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for a password on; use --password-file FILE.")
    try:
        password = getpass.getpass(prompt)
    except EOFError as exc:
        raise CommandError("No password given; nothing was changed.") from exc
    if not password:
        raise CommandError("The password cannot be empty.")
    return password
