"""Lockdown, for a raid, a lost laptop or a coerced colleague.

Starting it ends every session (each holds a person's key encrypted under their cookie secret:
deleting the sessions destroys the server half) and every API token, and suspends logins until
two different supervisors lift it. A drill records and reports what would have happened, and
changes nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from haven.accounts.models import Role
from haven.api.models import ApiToken
from haven.audit.services import audit_record
from haven.lockdown.models import Lockdown

if TYPE_CHECKING:
    from haven.accounts.models import User


def lockdown_active() -> Lockdown | None:
    return Lockdown.objects.filter(drill=False, lifted_at__isnull=True).first()


def _require_supervisor(user: User) -> None:
    if not (user.is_active and user.role == Role.SUPERVISOR):
        raise PermissionDenied("Only supervisors start or lift a lockdown.")


@transaction.atomic
def lockdown_start(*, actor: User, drill: bool = False) -> Lockdown:
    """Lock Haven down now (or rehearse it with ``drill``)."""
    _require_supervisor(actor)
    if not drill and lockdown_active() is not None:
        raise ValidationError("Haven is already locked down.")
    sessions = Session.objects.count()
    tokens = ApiToken.objects.count()
    if not drill:
        Session.objects.all().delete()
        ApiToken.objects.all().delete()
    lockdown = Lockdown.objects.create(
        started_at=timezone.now(),
        started_by=actor,
        drill=drill,
        sessions_ended=sessions,
        tokens_ended=tokens,
        lifted_at=timezone.now() if drill else None,
    )
    audit_record(
        actor=actor,
        action="lockdown.drill" if drill else "lockdown.start",
        detail={"sessions": sessions, "tokens": tokens},
    )
    return lockdown


@transaction.atomic
def lockdown_lift(*, first: User, second: User) -> Lockdown:
    """Lift the lockdown: two different active supervisors, each having proved who they are."""
    _require_supervisor(first)
    _require_supervisor(second)
    if first.pk == second.pk:
        raise ValidationError("Two different supervisors must lift a lockdown.")
    lockdown = (
        Lockdown.objects.select_for_update().filter(drill=False, lifted_at__isnull=True).first()
    )
    if lockdown is None:
        raise ValidationError("Haven is not locked down.")
    lockdown.first_approver = first
    lockdown.lifted_by = second
    lockdown.lifted_at = timezone.now()
    lockdown.save(update_fields=["first_approver", "lifted_by", "lifted_at"])
    audit_record(actor=second, action="lockdown.lift", detail={"with": str(first.pk)})
    return lockdown
