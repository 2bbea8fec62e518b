"""Who may do what, in one place. Views, API and CLI ask here; services enforce it too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from haven.accounts.models import Role

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Case

# Roles that work with case contents. Administrators, auditors and press officers do not.
CASE_READERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
CASE_WRITERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
SEES_ALL_CASES = {Role.SUPERVISOR, Role.INTAKE}
REQUEST_HANDLERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
REFERRAL_APPROVERS = {Role.SUPERVISOR}
BROKER_READERS = {Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR}
PARTNER_EDITORS = {Role.SUPERVISOR, Role.ADMIN}
AUDIT_READERS = {Role.AUDITOR}


def has_role(user: User, roles: set[Role]) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def can_view_case(user: User, case: Case) -> bool:
    """Need to know: supervisors and intake see every case; caseworkers their own or their team's."""
    if not has_role(user, CASE_READERS):
        return False
    if user.role in SEES_ALL_CASES:
        return True
    return case.owner_id == user.pk or (user.team_id is not None and case.team_id == user.team_id)


def require(allowed: bool, message: str = "You do not have access to this.") -> None:
    if not allowed:
        raise PermissionDenied(message)
