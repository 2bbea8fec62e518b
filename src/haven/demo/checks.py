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
    finding = mode_finding(Path(path), name, production=is_production(env))
    return [finding] if finding else []


def mode_finding(
    path: Path, topic: str, *, production: bool, directory: bool = False
) -> Finding | None:
    """A finding when ``path`` is open to other users of this machine (unsafe in production)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None
    want = "700" if directory else "600"
    return Finding(
        FAIL if production else WARN,
        topic,
        f"{path} is mode {mode:04o}: other users of this machine can "
        f"{'write' if mode & (stat.S_IWGRP | stat.S_IWOTH) else 'read'} it; run "
        f"`chmod {want} {path}`.",
    )


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
    finding = mode_finding(data_dir, "data dir", production=is_production(env), directory=True)
    if finding:
        findings.append(finding)
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

    production = is_production(env)
    findings = [
        *bounds_findings(production=production),
        *anchor_file_findings(production=production),
    ]
    vendor = connection.vendor
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        findings.append(
            Finding(FAIL, "database", f"{vendor} database cannot be reached: {first_line}")
        )
        return findings
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
    findings.extend(database_file_findings(production=production))
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


# -- file modes, the anchor file and the bounds of security settings (need Django's settings) --


def database_file_findings(*, production: bool) -> list[Finding]:
    """The SQLite database and the files beside it must be for Haven's account only."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if "sqlite" not in database["ENGINE"] or not name or name.startswith(("file:", ":memory")):
        return []
    findings = []
    for suffix in ("", "-wal", "-shm", "-journal", "-writers.lock"):
        finding = mode_finding(Path(name + suffix), "database", production=production)
        if finding:
            findings.append(finding)
    return findings or [Finding(OK, "database", f"{name} and its files are mode 0600.")]


def anchor_file_findings(*, production: bool) -> list[Finding]:
    """HAVEN_AUDIT_ANCHOR_FILE: set in production, away from the database, not writable by others."""
    from haven.audit.anchors import anchor_file, anchor_file_problem

    topic = "HAVEN_AUDIT_ANCHOR_FILE"
    path = anchor_file()
    if path is None:
        return [
            Finding(
                WARN if production else OK,
                topic,
                "not set: `haven audit verify` cannot show the audit trail rolled back to an "
                "earlier state. Set it to a file outside the data directory and run "
                "`haven audit anchor` regularly (README, “Audit trail”)."
                if production
                else "not set (set it in production).",
            )
        ]
    problem = anchor_file_problem(path)
    if problem:
        return [Finding(FAIL, topic, problem)]
    finding = mode_finding(path, topic, production=production)
    if finding:
        return [finding]
    return [_last_anchor_finding(path, topic, production=production)]


# Anchors older than this leave that much of the trail open to an unseen rollback.
ANCHOR_STALE_HOURS = 24


def _last_anchor_finding(path: Path, topic: str, *, production: bool) -> Finding:
    import datetime as dt

    from django.utils import timezone

    from haven.audit.anchors import AnchorFileError, anchors_read

    try:
        kept, _bad = anchors_read(path)
    except AnchorFileError as exc:
        return Finding(FAIL, topic, str(exc))
    when = max((a.kept_at for a in kept if a.kept_at is not None), default=None)
    if when is None:
        return Finding(WARN if production else OK, topic, f"{path}: no anchor kept yet.")
    age = timezone.now() - when
    if age > dt.timedelta(hours=ANCHOR_STALE_HOURS):
        return Finding(
            WARN if production else OK,
            topic,
            f"{path}: the last anchor was kept {int(age.total_seconds() // 3600)} hours ago; run "
            "`haven audit anchor` from cron every few minutes.",
        )
    return Finding(
        OK, topic, f"{path}: {len(kept)} anchor(s), the last kept {when:%Y-%m-%d %H:%M} UTC."
    )


MIB = 1024 * 1024


@dataclass(frozen=True)
class Bound:
    """A security setting's sane range: outside it is unsafe in production."""

    setting: str  # the environment variable
    low: int | None
    high: int | None
    unit: str
    why: str


# Checked by `haven check` (README, "Configuration"). Values are in the unit shown.
BOUNDS = (
    Bound("HAVEN_KDF_OPSLIMIT", 2, 16, "passes", "Argon2id passes over the password"),
    Bound("HAVEN_KDF_MEMLIMIT", 128, 4096, "MiB", "Argon2id memory per password guess"),
    Bound("HAVEN_LOGIN_FAILURE_LIMIT", 1, 10, "failures", "wrong passwords before a lockout"),
    Bound("HAVEN_LOGIN_COOLOFF_MINUTES", 5, 1440, "minutes", "how long a lockout lasts"),
    Bound("HAVEN_IDLE_TIMEOUT_MINUTES", 1, 60, "minutes", "logged out after this long idle"),
    Bound("HAVEN_SESSION_MAX_AGE", 60, 24 * 3600, "seconds", "the longest a session lives"),
    Bound("HAVEN_API_TOKEN_HOURS", 1, 24, "hours", "the longest an API token lives"),
    Bound("HAVEN_REAUTH_SECONDS", 30, 900, "seconds", "how recent a password grave actions need"),
)
# Together, passes x memory: at least 2 passes over 256 MiB (the default is 3).
MIN_KDF_WORK_MIB = 512


def _configured_values() -> dict[str, int]:
    from django.conf import settings

    return {
        "HAVEN_KDF_OPSLIMIT": int(settings.HAVEN_KDF_OPSLIMIT),
        "HAVEN_KDF_MEMLIMIT": int(settings.HAVEN_KDF_MEMLIMIT) // MIB,
        "HAVEN_LOGIN_FAILURE_LIMIT": int(settings.AXES_FAILURE_LIMIT),
        "HAVEN_LOGIN_COOLOFF_MINUTES": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "HAVEN_IDLE_TIMEOUT_MINUTES": int(settings.HAVEN_IDLE_TIMEOUT) // 60,
        "HAVEN_SESSION_MAX_AGE": int(settings.SESSION_COOKIE_AGE),
        "HAVEN_API_TOKEN_HOURS": int(settings.HAVEN_API_TOKEN_HOURS),
        "HAVEN_REAUTH_SECONDS": int(settings.HAVEN_REAUTH_SECONDS),
    }


def bounds_findings(*, production: bool) -> list[Finding]:
    """Each security setting within :data:`BOUNDS` (unsafe in production, a warning elsewhere)."""
    values = _configured_values()
    level = FAIL if production else WARN
    findings = []
    for bound in BOUNDS:
        value = values[bound.setting]
        if (bound.low is not None and value < bound.low) or (
            bound.high is not None and value > bound.high
        ):
            findings.append(
                Finding(
                    level,
                    bound.setting,
                    f"{value} {bound.unit} ({bound.why}) is outside {bound.low}..{bound.high} "
                    f"{bound.unit}.",
                )
            )
    work = values["HAVEN_KDF_OPSLIMIT"] * values["HAVEN_KDF_MEMLIMIT"]
    if work < MIN_KDF_WORK_MIB:
        findings.append(
            Finding(
                level,
                "HAVEN_KDF_*",
                f"{values['HAVEN_KDF_OPSLIMIT']} passes over {values['HAVEN_KDF_MEMLIMIT']} MiB "
                f"is too cheap a password key derivation: passes x MiB must be at least "
                f"{MIN_KDF_WORK_MIB} (the default is 3 x 256).",
            )
        )
    if not findings:
        findings.append(
            Finding(OK, "security settings", "key derivation, lockout and session limits are sane.")
        )
    return findings
