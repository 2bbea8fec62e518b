"""Who may do what, in one place. Views, API and CLI ask here; services enforce it too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from haven.accounts.models import Role

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Case

# Roles that work with case contents. Administrators, auditors and press officers do not.
CASE_READERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
CASE_WRITERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
REQUEST_HANDLERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
REFERRAL_APPROVERS = {Role.SUPERVISOR}
BROKER_READERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
PARTNER_EDITORS = {Role.SUPERVISOR, Role.ADMIN}
AUDIT_READERS = {Role.AUDITOR}


def has_role(user: User, roles: set[Role]) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def can_view_case(user: User, case: Case) -> bool:
    """Need to know: a role that works with cases *and* a live grant of the case's key, to the
    person or to a team key they hold (the intake and supervisors' keys, their casework team's).
    Being an administrator grants nothing."""
    from haven.vault.holders import holds_key

    if not has_role(user, CASE_READERS):
        return False
    return holds_key(user, case.data_key_id)


def visible_data_keys(user: User) -> QuerySet[Any]:
    """Ids of the data keys ``user`` holds a live grant for (a subquery for list filters)."""
    from haven.vault.holders import user_grants

    return user_grants(user).values("data_key_id")


def require(allowed: bool, message: str = "You do not have access to this.") -> None:
    if not allowed:
        raise PermissionDenied(message)
