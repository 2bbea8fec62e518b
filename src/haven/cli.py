"""The ``haven`` command: a thin wrapper around Django's management commands.

``haven run``, ``haven demo``, ``haven createuser`` and ``haven check`` are Haven's own commands
(``haven check`` is the management command ``havencheck``, since ``check`` is Django's); anything
else (``haven migrate``, ``haven shell``, ...) goes to Django unchanged.

For a newcomer on their own machine, the two required secrets are created once in the default data
directory (``./.haven-data``) when they are not configured, so that ``make demo`` needs nothing set.
That never happens when ``HAVEN_ENV=production`` or when ``HAVEN_DATA_DIR`` is set: there, missing
keys are a configuration error with a clear message.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import TextIO

USAGE = """\
usage: haven <command> [options]

Haven's commands:
  run          migrate, collect static files and serve Haven with gunicorn
  portal       serve only the requester portal (its own process, host or onion service)
  demo         create a demo organisation (users, partners, brokers, ~200 cases)
  setup        create the organisation's keys (recovery words, printed once) and first supervisor
  createuser   create a staff account with a role
  changeuser   change someone's role or team, or deactivate them (their team keys follow)
  resetpassword  set a new password for someone (they lose access until it is restored)
  recover      use the recovery words: restore a person's access, or open a case
  check        check the configuration; exits 1 when something is unsafe
  audit        verify the hash-chained audit trail, or print its anchor (haven audit verify|anchor)
  backup       write a signed, encrypted backup archive; verify, prune, fingerprint
  restore      restore a backup archive in place of the database and the erasure store
  dedupe       find possible duplicates on keyed encodings; fills the review queue
  link         private linkage with a partner: encode our records, match two files
  import       import people from a CSV or XLSX file: a dry run, then --commit (undoable)
  stats        statistics: audit published releases (haven stats audit), prepare and approve
  statements   press statements: list, show, export a released one, release an approved one

Every other command is Django's (haven migrate, haven shell, haven help ...).
Run `haven <command> --help` for a command's options.
"""

# Haven's names that differ from the management command's name.
ALIASES = {"check": "havencheck", "portal": "run", "import": "importdata"}
# Commands for which local development keys are never generated (they only read the config).
NO_KEYGEN = {"check", "havencheck", "help", "version", "--version"}

SECRET_KEY_FILE = "secret_key"  # noqa: S105  # nosec B105  # a file name, not a secret
DEV_KEY_WARNING = (
    "haven: using a local development secret key from {dir}/secret_key - not for production."
)


class SetupError(Exception):
    """The command cannot start; the message says why and what to do."""


def default_data_dir() -> Path:
    return Path.cwd() / ".haven-data"


def _configured(env: MutableMapping[str, str], name: str) -> bool:
    return bool(env.get(name) or env.get(f"{name}_FILE"))


def _write_secret(path: Path, value: str) -> bool:
    """Create ``path`` with mode 0600 holding ``value``; False if it already existed."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return True


def ensure_local_keys(
    env: MutableMapping[str, str], command: str, *, stderr: TextIO | None = None
) -> list[str]:
    """Point unset key settings at development key files in the default data dir.

    Returns the names of the files it created. Generates nothing in production, when the data dir
    was chosen explicitly, or for read-only commands (``check``), where it only reuses key files
    that already exist. Raises :class:`SetupError` when keys are missing in production.
    """
    missing = [name for name in ("HAVEN_SECRET_KEY",) if not _configured(env, name)]
    if not missing:
        return []
    production = env.get("HAVEN_ENV", "").strip().lower() == "production"
    if production:
        if command in NO_KEYGEN:
            return []  # `haven check` reports it
        raise SetupError(
            f"{' and '.join(missing)} must be set (or {missing[0]}_FILE pointing at a file) "
            "when HAVEN_ENV=production; Haven never generates production keys. "
            "See README, “Configuration”."
        )
    if env.get("HAVEN_DATA_DIR"):
        return []  # an explicit data dir is a deployment: Django reports what is missing
    data_dir = default_data_dir()
    files = {"HAVEN_SECRET_KEY": SECRET_KEY_FILE}
    created: list[str] = []
    for name in missing:
        path = data_dir / files[name]
        if command not in NO_KEYGEN:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            value = secrets.token_urlsafe(50)
            if _write_secret(path, value):
                created.append(files[name])
        if path.is_file():
            env[f"{name}_FILE"] = str(path)
    if any(_configured(env, name) for name in missing):
        print(DEV_KEY_WARNING.format(dir=data_dir), file=stderr or sys.stderr)
    return created


def _ensure_data_dir(env: MutableMapping[str, str], command: str) -> None:
    """SQLite needs its directory; create the data dir (0700) unless only checking."""
    if command in NO_KEYGEN:
        return
    data_dir = Path(env.get("HAVEN_DATA_DIR") or default_data_dir())
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"The data directory {data_dir} cannot be created: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``haven`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    command = args[0]
    # Everything Haven creates (the SQLite database and its WAL, the data directory, keys, files
    # written by commands) is for the account it runs as only, and so are gunicorn's workers.
    os.umask(0o077)
    env = os.environ
    env.setdefault("DJANGO_SETTINGS_MODULE", "haven.settings.base")
    if command == "portal":
        # Settings read this when they load: the process routes the portal and nothing else.
        env["HAVEN_SERVE"] = "portal"
    try:
        ensure_local_keys(env, command)
        _ensure_data_dir(env, command)
    except SetupError as exc:
        print(f"haven: {exc}", file=sys.stderr)
        return 2

    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        if command == "check":
            from haven.demo.checks import FAIL, Finding, print_findings, settings_free_findings

            findings = settings_free_findings(env)
            if not any(f.level == FAIL for f in findings):
                findings.append(Finding(FAIL, "settings", str(exc)))
            print_findings(findings, sys.stdout)
            return 1
        print(f"haven: configuration error: {exc}", file=sys.stderr)
        print("haven: run `haven check` for a full report.", file=sys.stderr)
        return 2

    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["haven", ALIASES.get(command, command), *args[1:]])
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
