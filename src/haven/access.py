"""Who may do what, in one place. Views, API and CLI ask here; services enforce it too.

:data:`PERMISSIONS` names every action and the roles that may take it. A role is necessary, not
sufficient, for anything touching a case: need to know also asks for a live grant of the case's
key (:func:`can_view_case`), given by assignment (owner, team, intake, supervisors) or explicitly.
Being an administrator grants no case; a partner liaison sees only referrals sent to their partner.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef

from haven.accounts.models import Role

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Case

# The roles that work with case contents. Administrators, auditors, press officers and partner
# liaisons do not.
_CASEWORK = frozenset({Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR})
_SUPERVISOR = frozenset({Role.SUPERVISOR})
_ADMIN = frozenset({Role.ADMIN})
# The press office: its officers, and supervisors (who approve and hold its key through theirs).
_PRESS = frozenset({Role.PRESS, Role.SUPERVISOR})

PERMISSIONS: Mapping[str, frozenset[Role]] = MappingProxyType(
    {
        # Cases: every case action also needs a live grant of that case's key.
        "case.read": _CASEWORK,
        "case.write": _CASEWORK,  # journey moves, notes, edits, consents, drafting referrals
        "case.own": _CASEWORK,  # may be a case's owner
        "case.assign": frozenset({Role.INTAKE, Role.SUPERVISOR}),  # give a case to someone else
        "case.grant": _CASEWORK,  # share a case one holds with a colleague
        "case.revoke": _SUPERVISOR,
        "case.delete": _SUPERVISOR,
        "case.hold": _SUPERVISOR,  # keep a case back from retention
        "dashboard.read": _CASEWORK,
        # Requests as they arrive.
        "request.read": _CASEWORK,
        "request.create": _CASEWORK,
        "request.triage": frozenset({Role.INTAKE, Role.SUPERVISOR}),
        # Possible duplicates (also need a grant of every case shown): seen on a request's page,
        # decided (link, merge, "not the same person", undo) by case staff; the review queue
        # of `haven dedupe` is for intake and supervisors.
        "duplicate.read": _CASEWORK,
        "duplicate.decide": _CASEWORK,
        "duplicate.review": frozenset({Role.INTAKE, Role.SUPERVISOR}),
        # Run the full pass (`haven dedupe`, or its button on the Duplicates page).
        "duplicate.run": _SUPERVISOR,
        # Files sent with a request (also need the file's key, which follows the request's): the
        # cleaned copy for case staff; the original, kept as evidence with its metadata (GPS,
        # device, author), for supervisors only.
        "attachment.read": _CASEWORK,
        "attachment.original": _SUPERVISOR,
        # Referrals: staff through the case; liaisons only those sent to their partner.
        "referral.read": _CASEWORK,
        "referral.read_sent": frozenset({Role.PARTNER_LIAISON}),
        "referral.approve": _SUPERVISOR,
        "referral.respond": _CASEWORK | {Role.PARTNER_LIAISON},
        # Brokers and partner agencies.
        "broker.read": _CASEWORK,
        "broker.write": _CASEWORK,
        "broker.suspend": _SUPERVISOR,
        # Issue (or replace) a broker's portal credential; suspending revokes it at once.
        "broker.credential_issue": _SUPERVISOR,
        # Messages with the requester or broker of a request (also needs the request's key).
        "message.read": _CASEWORK,
        "message.send": _CASEWORK,
        "partner.read": _CASEWORK | _ADMIN,
        "partner.edit": frozenset({Role.SUPERVISOR, Role.ADMIN}),
        # Speaking in public (haven.disclosure): press officers draft statements from cover
        # values (never a case); a supervisor who did not write one approves it. Cover values
        # and openings of side exits are recorded by supervisors holding the cases.
        "statement.read": _PRESS,
        "statement.write": frozenset({Role.PRESS}),
        "statement.approve": _SUPERVISOR,
        "statement.release": _PRESS,
        "statement.withdraw": _PRESS,
        "cover.read": _PRESS,
        "cover.write": _SUPERVISOR,
        "disclosure.open": _SUPERVISOR,
        # Oversight.
        "audit.read": frozenset({Role.AUDITOR}),
        # The signed head of the audit chain, shown to print and keep (no entry is shown).
        "audit.head": frozenset({Role.AUDITOR, Role.SUPERVISOR}),
        "keys.manage": _SUPERVISOR,  # share, rotate and restore team keys
        "lockdown.start": _SUPERVISOR,
        "retention.read": _SUPERVISOR,
        # Moving an organisation in: importing spreadsheets of people (a dry run, then the
        # load, resumable and undoable), with the column mappings saved for the next file.
        "import.run": _SUPERVISOR,
        # Taking data out: the case list as CSV/XLSX (only the cases one may open), and a
        # case's printable file (PDF; also needs a grant of the case's key).
        "case.export": _SUPERVISOR,
        "case.print": _CASEWORK,
        # The audit trail as CSV/XLSX.
        "audit.export": frozenset({Role.AUDITOR}),
        # Statistics (haven.stats): read and prepared by press officers and supervisors, who hold
        # the statistics key; a release is published when a supervisor other than whoever
        # prepared it approves it. Where cases stand now is for supervisors only.
        "stats.read": frozenset({Role.PRESS, Role.SUPERVISOR}),
        "stats.prepare": frozenset({Role.PRESS, Role.SUPERVISOR}),
        "stats.approve": _SUPERVISOR,
        "stats.internal": _SUPERVISOR,
        # People, roles and settings (never one's own role, team or grants).
        "user.manage": _ADMIN,
        "settings.manage": _ADMIN,
    }
)

# The role sets many modules import, derived from the table.
CASE_READERS = PERMISSIONS["case.read"]
CASE_WRITERS = PERMISSIONS["case.write"]
REQUEST_HANDLERS = PERMISSIONS["request.read"]
REFERRAL_APPROVERS = PERMISSIONS["referral.approve"]
BROKER_READERS = PERMISSIONS["broker.read"]
PARTNER_EDITORS = PERMISSIONS["partner.edit"]
AUDIT_READERS = PERMISSIONS["audit.read"]


def has_role(user: User, roles: Collection[str]) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def allowed(user: User, action: str) -> bool:
    """Whether ``user``'s role may take ``action`` (a key of :data:`PERMISSIONS`; an unknown
    action is a programming error and raises ``KeyError``). For a case, also ask
    :func:`can_view_case`."""
    return has_role(user, PERMISSIONS[action])


def can_view_case(user: User, case: Case) -> bool:
    """Need to know: a role that works with cases *and* a live grant of the case's key, to the
    person or to a team key they hold (the intake and supervisors' keys, their casework team's).
    Being an administrator grants nothing."""
    from haven.vault.holders import holds_key

    if not allowed(user, "case.read"):
        return False
    return holds_key(user, case.data_key_id)


def visible_to(user: User, *, field: str = "data_key_id") -> Exists:
    """A filter: the row's data key (``field``) has a live grant ``user`` can open.

    A correlated EXISTS rather than ``IN (subquery)``: SQLite would otherwise materialise every
    data key a supervisor holds (hundreds of thousands at 100,000 cases) and probe the rows from
    that list, taking seconds for a first page that needs fifty rows; with EXISTS it walks the
    list's own index and checks one grant per row (benchmarks/caseload.py).
    """
    from haven.vault.holders import user_grants

    return Exists(user_grants(user).filter(data_key_id=OuterRef(field)))


def require(allowed: bool, message: str = "You do not have access to this.") -> None:
    if not allowed:
        raise PermissionDenied(message)
