"""How `haven backup verify` and `haven restore` learn who opens the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from haven.backups.keyblock import Credentials
from haven.crypto import RecoveryWordsError, recovery_key_from_words
from haven.demo.management.prompts import read_password_once, read_words


def add_credential_arguments(parser: CommandParser) -> None:
    who = parser.add_argument_group(
        "who opens the archive (one of them)",
        "A supervisor who held the supervisors' key when the backup was made, with the password "
        "they had then; or the organisation's recovery words.",
    )
    who.add_argument("--supervisor", metavar="NAME", help="a supervisor's username")
    who.add_argument(
        "--password-file", type=Path, metavar="FILE", help="their password (else asked)"
    )
    who.add_argument(
        "--recovery-words",
        action="store_true",
        help="type the 24 recovery words at a hidden prompt instead",
    )
    who.add_argument("--words-file", type=Path, metavar="FILE", help="read the words from FILE")
    parser.add_argument(
        "--signer",
        metavar="FINGERPRINT",
        help="the signing key's fingerprint printed by `haven backup`, when this host's erasure "
        "store is gone (otherwise the archive is checked against this host's store)",
    )


def credentials_from(options: dict[str, Any]) -> Credentials:
    words = options.get("recovery_words") or options.get("words_file") is not None
    supervisor = (options.get("supervisor") or "").strip()
    if words and supervisor:
        raise CommandError("Give either --supervisor or the recovery words, not both.")
    if words:
        try:
            return Credentials(recovery=recovery_key_from_words(read_words(options["words_file"])))
        except RecoveryWordsError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
    if not supervisor:
        raise CommandError(
            "Say who opens the archive: --supervisor NAME (their password is asked, or read from "
            "--password-file), or --recovery-words / --words-file FILE."
        )
    password = read_password_once(
        options.get("password_file"),
        prompt=f"{supervisor}'s password (as when the backup was made): ",
    )
    return Credentials(supervisor=supervisor, password=password)
