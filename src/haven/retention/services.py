"""Retention: announce cases past their retention period, then destroy them after the notice.

Nothing is destroyed without having been shown to supervisors (the retention page) for the
notice period; a supervisor can hold a case. `haven purge` runs both steps (daily, from cron or a
systemd timer); it needs no key, since destroying a case means deleting its keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from haven.accounts.models import Role
from haven.audit.services import audit_record
from haven.cases.models import Case
from haven.cases.services import case_shred, request_shred_if_empty
from haven.retention.models import RetentionHold, RetentionNotice

if TYPE_CHECKING:
    from haven.accounts.models import User

MAX_HOLD_DAYS = 3 * 365


@dataclass
class PurgeResult:
    announced: int
    purged: int
    requests_purged: int
    dry_run: bool

    def __str__(self) -> str:
        verb = "would destroy" if self.dry_run else "destroyed"
        return (
            f"{self.announced} cases newly shown to supervisors; {verb} {self.purged} cases and "
            f"{self.requests_purged} requests left without cases."
        )


def _past_retention(now: dt.datetime) -> Q:
    rules = Q()
    for state, days in settings.HAVEN_RETENTION_DAYS.items():
        rules |= Q(state=state, state_changed_at__lte=now - dt.timedelta(days=days))
    return rules


def retention_announce(*, now: dt.datetime | None = None) -> int:
    """Show supervisors every case now past its retention period (not already shown)."""
    now = now or timezone.now()
    rules = _past_retention(now)
    if not rules:
        return 0
    notice = dt.timedelta(days=settings.HAVEN_RETENTION_NOTICE_DAYS)
    due = Case.objects.filter(rules, retention_notice__isnull=True).values_list("pk", flat=True)
    created = RetentionNotice.objects.bulk_create(
        [RetentionNotice(case_id=pk, announced_at=now, purge_after=now + notice) for pk in due]
    )
    return len(created)


@transaction.atomic
def retention_purge(*, now: dt.datetime | None = None, dry_run: bool = False) -> PurgeResult:
    """Announce newly due cases, then destroy those shown for the whole notice period, still in
    a final state past retention, and not held. The audit keeps only the counts."""
    now = now or timezone.now()
    announced = retention_announce(now=now)
    # A case that left its final state (reopened, say) or whose rule changed is no longer due.
    RetentionNotice.objects.exclude(
        case__in=Case.objects.filter(_past_retention(now) or Q(pk=None))
    ).delete()
    due = (
        # Re-checked on the locked rows: a case reopened a moment ago is not destroyed.
        Case.objects.filter(_past_retention(now), retention_notice__purge_after__lte=now)
        .filter(Q(retention_hold__isnull=True) | Q(retention_hold__until__lte=now))
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    purged = requests = 0
    request_ids = set()
    for case in due:
        purged += 1
        if dry_run:
            continue
        request_ids.add(case.request_id)
        case_shred(case=case)
    for request_id in request_ids:
        if request_id is not None and request_shred_if_empty(request_id=request_id):
            requests += 1
    if dry_run:
        transaction.set_rollback(True)
    elif purged or announced:
        audit_record(
            actor=None,
            action="retention.purge",
            detail={"announced": announced, "cases": purged, "requests": requests},
        )
    return PurgeResult(
        announced=announced, purged=purged, requests_purged=requests, dry_run=dry_run
    )


@transaction.atomic
def retention_hold(*, actor: User, case: Case, days: int) -> RetentionHold:
    """Keep a case past its retention period for ``days`` more days (supervisors; audited)."""
    if actor.role != Role.SUPERVISOR or not actor.is_active:
        raise PermissionDenied("Only supervisors hold cases back from deletion.")
    if not 1 <= days <= MAX_HOLD_DAYS:
        raise ValidationError({"days": f"Hold for 1 to {MAX_HOLD_DAYS} days."})
    now = timezone.now()
    hold, _ = RetentionHold.objects.update_or_create(
        case=case,
        defaults={"until": now + dt.timedelta(days=days), "held_by": actor, "held_at": now},
    )
    audit_record(actor=actor, action="retention.hold", target=case, detail={"days": days})
    return hold


@dataclass
class Leftovers:
    sessions: int
    tokens: int
    attempts: int


@transaction.atomic
def housekeeping_clear(*, now: dt.datetime | None = None) -> Leftovers:
    """Delete what has outlived its use: expired sessions (with the encrypted keys in them),
    expired API tokens, and failed-login records (with their addresses) past the cool-off."""
    from axes.models import AccessAttempt
    from django.contrib.sessions.models import Session

    from haven.api.models import ApiToken

    now = now or timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    tokens, _ = ApiToken.objects.filter(expires_at__lt=now).delete()
    attempts, _ = AccessAttempt.objects.filter(
        attempt_time__lt=now - settings.AXES_COOLOFF_TIME
    ).delete()
    return Leftovers(sessions=sessions, tokens=tokens, attempts=attempts)
