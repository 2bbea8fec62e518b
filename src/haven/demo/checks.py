"""`haven check`: is this configuration safe to run? Clear findings, exit 1 when it is not.

:func:`settings_free_findings` reads only the environment, so it works even when Django's settings
cannot load (a missing key); :func:`runtime_findings` needs Django set up (database, migrations).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

OK, WARN, FAIL = "OK", "WARN", "FAIL"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class _Writer(Protocol):
    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class Finding:
    level: str
    topic: str
    message: str


def _read(env: Mapping[str, str], name: str) -> tuple[str | None, str, str | None]:
    """(value, where it came from, error) for a setting that may also come from ``<name>_FILE``."""
    file_var = f"{name}_FILE"
    if env.get(file_var):
        path = Path(env[file_var])
        try:
            return path.read_text(encoding="utf-8").strip(), f"{file_var}={path}", None
        except OSError as exc:
            return (
                None,
                file_var,
                f"{file_var} points at {path}, which cannot be read ({exc.strerror}).",
            )
    value = env.get(name)
    return (value or None), name, None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool | None:
    value = env.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def is_production(env: Mapping[str, str]) -> bool:
    return env.get("HAVEN_ENV", "").strip().lower() == "production"


def _file_mode_findings(env: Mapping[str, str], name: str) -> list[Finding]:
    path = env.get(f"{name}_FILE")
    if not path:
        return []
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return []
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return [
            Finding(
                WARN,
                name,
                f"{path} can be read by other users of this machine; run `chmod 600 {path}`.",
            )
        ]
    return []


def _secret_key_findings(env: Mapping[str, str]) -> list[Finding]:
    name = "HAVEN_SECRET_KEY"
    value, source, error = _read(env, name)
    if error:
        return [Finding(FAIL, name, error)]
    if not value:
        return [
            Finding(
                FAIL,
                name,
                f"{name} is not set (nor {name}_FILE). Set it to a long random string, e.g. "
                "the output of `python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
            )
        ]
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure-"):
        return [
            Finding(
                FAIL,
                name,
                f"{name} ({source}) is too weak: use at least 50 random characters "
                f"(it has {len(value)}).",
            )
        ]
    return [
        Finding(OK, name, f"set from {source}, {len(value)} characters."),
        *_file_mode_findings(env, name),
    ]


def _org_keys_findings() -> list[Finding]:
    """Whether `haven setup` has run and whether anyone can still share the team keys."""
    from haven.accounts.models import Role
    from haven.vault.models import KeyShare, OrgKeys, TeamKey

    if not OrgKeys.objects.exists():
        return [
            Finding(
                FAIL,
                "keys",
                "the organisation's keys are not set up: run `haven setup` (it prints the "
                "recovery words once).",
            )
        ]
    holders = (
        KeyShare.objects.filter(
            team_key__kind="supervisors",
            team_key__active=True,
            user__is_active=True,
            user__role=Role.SUPERVISOR,
        )
        .values("user")
        .distinct()
        .count()
    )
    findings = [
        Finding(OK, "keys", f"set up; {TeamKey.objects.filter(active=True).count()} team keys.")
    ]
    due = TeamKey.objects.filter(active=True, rotation_due=True).count()
    if due:
        findings.append(
            Finding(
                WARN,
                "keys",
                f"{due} team key(s) wait to be replaced after someone left: a supervisor replaces "
                "them on the Keys page.",
            )
        )
    from haven.vault.models import SearchIndexKey

    staff = TeamKey.objects.filter(kind="staff", active=True).first()
    index = SearchIndexKey.objects.filter(active=True).first()
    if staff is not None and index is not None and staff.created_at > index.created_at:
        findings.append(
            Finding(
                WARN,
                "keys",
                "the all-staff key was replaced after the search index key was made: whoever left "
                "may still hold the index key. Run `haven keys rotate-index --supervisor NAME`.",
            )
        )
    if holders < 2:
        findings.append(
            Finding(
                WARN,
                "keys",
                f"only {holders} active supervisor holds the supervisors' key: if they leave, "
                "only the recovery key can share it again. Share it with a second supervisor.",
            )
        )
    return findings + _erasure_store_findings()


def _erasure_store_findings() -> list[Finding]:
    """The erasure store: this database's, private, complete, and nothing left unerased."""
    from django.conf import settings
    from django.db.models import Max

    from haven.crypto import CryptoError, erasure_store
    from haven.vault.models import DataKey, ErasedKey, OrgKeys

    path = Path(settings.HAVEN_ERASURE_STORE)
    name = "erasure store"
    if not path.exists():
        if DataKey.objects.filter(erasure_slot__isnull=False).exists():
            return [
                Finding(
                    FAIL,
                    name,
                    f"{path} is missing but the database's keys need it: nothing opens without "
                    "it. Restore it from the backup taken with the database "
                    "(HAVEN_ERASURE_STORE says where it is looked for).",
                )
            ]
        return [Finding(WARN, name, f"{path} does not exist yet; Haven will create it.")]
    try:
        store = erasure_store()
        store_id = store.store_id()
        slots = store.slot_count()
    except (OSError, CryptoError) as exc:
        return [Finding(FAIL, name, f"{path} cannot be used: {exc}")]
    expected = OrgKeys.objects.values_list("erasure_store_id", flat=True).first()
    if expected and expected != store_id:
        return [
            Finding(
                FAIL,
                name,
                f"{path} belongs to another database (its id is {store_id}, this database's "
                f"keys were written with {expected}): nothing would open. Point "
                "HAVEN_ERASURE_STORE at the store backed up with this database.",
            )
        ]
    highest = DataKey.objects.aggregate(top=Max("erasure_slot"))["top"]
    if highest is not None and highest >= slots:
        return [
            Finding(
                FAIL,
                name,
                f"{path} holds {slots} slots but the database uses slot {highest}: the store is "
                "older than the database. Restore the store backed up with the database.",
            )
        ]
    findings = [Finding(OK, name, f"{path}: {slots} slots, this database's.")]
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        findings.append(
            Finding(FAIL, name, f"{path} can be read by other users; run `chmod 600 {path}`.")
        )
    pending = ErasedKey.objects.filter(erased_at__isnull=True).count()
    if pending:
        findings.append(
            Finding(
                WARN,
                name,
                f"{pending} destroyed key(s) are not erased from the store yet (a process died "
                "after destroying them): run `haven purge` now.",
            )
        )
    return findings


def _data_dir_findings(env: Mapping[str, str]) -> list[Finding]:
    data_dir = Path(env.get("HAVEN_DATA_DIR") or Path.cwd() / ".haven-data")
    if not data_dir.exists():
        parent = data_dir.parent
        if parent.is_dir() and os.access(parent, os.W_OK):
            return [
                Finding(WARN, "data dir", f"{data_dir} does not exist yet; Haven will create it.")
            ]
        return [
            Finding(FAIL, "data dir", f"{data_dir} does not exist and {parent} is not writable.")
        ]
    if not data_dir.is_dir():
        return [Finding(FAIL, "data dir", f"{data_dir} is not a directory.")]
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".haven-check-"):
            pass
    except OSError as exc:
        return [Finding(FAIL, "data dir", f"{data_dir} is not writable ({exc.strerror}).")]
    findings = [Finding(OK, "data dir", f"{data_dir} is writable.")]
    if data_dir.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        findings.append(
            Finding(
                WARN,
                "data dir",
                f"{data_dir} is open to other users of this machine; run `chmod 700 {data_dir}`.",
            )
        )
    return findings


def _deployment_findings(env: Mapping[str, str]) -> list[Finding]:
    production = is_production(env)
    findings = []
    debug = _bool(env, "HAVEN_DEBUG", False)
    if debug is None:
        findings.append(Finding(FAIL, "HAVEN_DEBUG", "must be true or false."))
    elif debug and production:
        findings.append(
            Finding(
                FAIL,
                "HAVEN_DEBUG",
                "DEBUG is on in production: error pages would show settings and data.",
            )
        )
    elif debug:
        findings.append(Finding(WARN, "HAVEN_DEBUG", "DEBUG is on; never in production."))
    else:
        findings.append(Finding(OK, "HAVEN_DEBUG", "DEBUG is off."))

    https = _bool(env, "HAVEN_HTTPS", False)
    if https is None:
        findings.append(Finding(FAIL, "HAVEN_HTTPS", "must be true or false."))
    elif not https and production:
        findings.append(
            Finding(
                FAIL,
                "HAVEN_HTTPS",
                "HTTPS is off in production: session cookies would travel in clear. Serve Haven "
                "behind TLS and set HAVEN_HTTPS=true.",
            )
        )
    elif not https:
        findings.append(
            Finding(OK, "HAVEN_HTTPS", "off (fine on this machine; required in production).")
        )
    else:
        findings.append(Finding(OK, "HAVEN_HTTPS", "on: secure cookies, HSTS, redirect to HTTPS."))

    two_factor = _bool(env, "HAVEN_REQUIRE_2FA", True)
    if two_factor is None:
        findings.append(Finding(FAIL, "HAVEN_REQUIRE_2FA", "must be true or false."))
    elif not two_factor and production:
        findings.append(
            Finding(
                FAIL,
                "HAVEN_REQUIRE_2FA",
                "two-factor login is off in production: a stolen password alone would open "
                "every case its owner holds.",
            )
        )
    elif not two_factor:
        findings.append(
            Finding(WARN, "HAVEN_REQUIRE_2FA", "two-factor login is off (the demo only).")
        )
    else:
        findings.append(Finding(OK, "HAVEN_REQUIRE_2FA", "two-factor login is required."))

    raw_hosts = env.get("HAVEN_ALLOWED_HOSTS")
    hosts = (
        [h.strip() for h in raw_hosts.split(",") if h.strip()]
        if raw_hosts is not None
        else ["127.0.0.1", "localhost"]
    )
    if not hosts:
        findings.append(
            Finding(FAIL, "HAVEN_ALLOWED_HOSTS", "is empty: every request would be refused.")
        )
    elif "*" in hosts:
        findings.append(
            Finding(
                FAIL if production else WARN,
                "HAVEN_ALLOWED_HOSTS",
                "contains '*': any Host header is accepted (host-header attacks on links).",
            )
        )
    elif production and set(hosts) <= LOCAL_HOSTS:
        findings.append(
            Finding(
                WARN,
                "HAVEN_ALLOWED_HOSTS",
                f"only {', '.join(hosts)}: set it to the name staff use to reach Haven.",
            )
        )
    else:
        findings.append(Finding(OK, "HAVEN_ALLOWED_HOSTS", ", ".join(hosts)))
    return findings


def settings_free_findings(env: Mapping[str, str]) -> list[Finding]:
    """Everything that can be checked from the environment alone."""
    mode = "production" if is_production(env) else "development (HAVEN_ENV is not 'production')"
    return [
        Finding(OK, "HAVEN_ENV", mode),
        *_secret_key_findings(env),
        *_data_dir_findings(env),
        *_deployment_findings(env),
    ]


def runtime_findings(env: Mapping[str, str]) -> list[Finding]:
    """Database reachable and migrated, Django's own system checks. Needs Django set up."""
    from django.core import checks
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    findings: list[Finding] = []
    vendor = connection.vendor
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [Finding(FAIL, "database", f"{vendor} database cannot be reached: {first_line}")]
    findings.append(Finding(OK, "database", f"{vendor} database reachable."))
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            journal = str(cursor.fetchone()[0]).lower()
        if journal != "wal":
            findings.append(
                Finding(WARN, "database", f"SQLite journal mode is {journal}, not WAL.")
            )
        if is_production(env):
            findings.append(
                Finding(
                    WARN,
                    "database",
                    "SQLite in production serves one machine; use PostgreSQL (DATABASE_URL) to "
                    "grow beyond it.",
                )
            )
    plan: list | None = None
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        findings.append(Finding(FAIL, "migrations", f"cannot read migration state: {exc}"))
    else:
        if plan:
            findings.append(
                Finding(
                    FAIL,
                    "migrations",
                    f"{len(plan)} migration(s) not applied; run `haven migrate`.",
                )
            )
        else:
            findings.append(Finding(OK, "migrations", "the database is up to date."))
    if plan == []:
        findings.extend(_org_keys_findings())
    for message in checks.run_checks(include_deployment_checks=is_production(env)):
        if message.is_silenced() or message.level < checks.WARNING:
            continue
        level = FAIL if message.level >= checks.ERROR else WARN
        findings.append(Finding(level, f"django {message.id}", str(message.msg)))
    return findings


def print_findings(findings: list[Finding], out: _Writer) -> bool:
    """Print the report; True when nothing is unsafe."""
    width = max((len(f.topic) for f in findings), default=10)
    for finding in findings:
        out.write(f"{finding.level:<5} {finding.topic:<{width}}  {finding.message}\n")
    failures = sum(1 for f in findings if f.level == FAIL)
    warnings = sum(1 for f in findings if f.level == WARN)
    if failures:
        out.write(
            f"\n{failures} problem(s) make this configuration unsafe or broken"
            f"{f', {warnings} warning(s)' if warnings else ''}.\n"
        )
    else:
        out.write(f"\nConfiguration OK{f' ({warnings} warning(s))' if warnings else ''}.\n")
    return failures == 0
