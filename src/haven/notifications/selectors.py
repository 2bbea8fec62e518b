"""What waits for someone, inside Haven (no e-mail): overdue contact on their cases, cases
assigned to them not started yet, referrals awaiting their approval, messages from a requester
or broker waiting for a reply, referrals sent to their agency waiting for an answer.

Each is a query on plain columns (nothing is decrypted to count); the count in the navigation is
on every page, so each part is bounded (:data:`COUNT_CAP`) and uses an index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haven import access
from haven.accounts.models import Role
from haven.cases.journey import State
from haven.cases.models import Case, Request
from haven.cases.selectors import ACTIVE_Q
from haven.referrals.models import Referral, ReferralStatus

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from haven.accounts.models import User

COUNT_CAP = 100  # counted up to this many of each kind; the navigation shows "99+"


@dataclass
class Notice:
    kind: str
    title: StrOrPromise
    items: QuerySet[Any]


def awaiting_reply(requests: QuerySet[Request]) -> QuerySet[Request]:
    """The ``requests`` whose latest message came from their requester or broker, from the flag
    kept as messages are written (:attr:`Request.awaiting_reply`): a caseworker's count walked
    every request of their cases to look up its latest message (15 ms a page at 100,000 cases)."""
    return requests.filter(awaiting_reply=True)


def notices(*, user: User, now: dt.datetime | None = None) -> list[Notice]:
    """Everything waiting for ``user``, by kind, each a queryset (newest or most pressing first);
    kinds with nothing waiting are included (the page says "nothing")."""
    now = now or timezone.now()
    found: list[Notice] = []
    if access.allowed(user, "case.read"):
        mine = Case.objects.filter(access.visible_to(user), owner=user)
        found.append(
            Notice(
                "overdue",
                _("Contact overdue on your cases"),
                mine.filter(ACTIVE_Q, next_contact_due__lt=now)
                .select_related("person", "person__data_key")
                .order_by("next_contact_due"),
            )
        )
        found.append(
            Notice(
                "assigned",
                _("Cases assigned to you, not started yet"),
                mine.filter(state=State.RECEIVED)
                .select_related("person", "person__data_key")
                .order_by("-urgency", "opened_at"),
            )
        )
    if access.allowed(user, "referral.approve"):
        found.append(
            Notice(
                "approval",
                _("Referrals awaiting your approval"),
                Referral.objects.filter(
                    access.visible_to(user, field="case__data_key_id"),
                    status=ReferralStatus.SUBMITTED,
                )
                .select_related("partner", "case", "case__person", "case__person__data_key")
                .order_by("updated_at"),
            )
        )
    if access.allowed(user, "message.read"):
        requests = Request.objects.filter(access.visible_to(user))
        if user.role == Role.CASEWORKER:
            # Read from the few awaiting requests, each asked whether it is theirs: a join
            # walked every case they own instead.
            theirs = Case.objects.filter(request_id=OuterRef("pk"), owner=user)
            requests = requests.filter(Exists(theirs))
        found.append(
            Notice(
                "messages",
                _("Messages waiting for a reply"),
                awaiting_reply(requests).order_by("-urgency", "-received_at"),
            )
        )
    if access.allowed(user, "referral.read_sent") and user.partner_id is not None:
        found.append(
            Notice(
                "sent",
                _("Referrals sent to your agency, waiting for your answer"),
                Referral.objects.filter(
                    partner_id=user.partner_id,
                    sent_at__isnull=False,
                    status__in=[ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED],
                )
                .select_related("partner")
                .order_by("sent_at"),
            )
        )
    return found


def notification_count(*, user: User | None, now: dt.datetime | None = None) -> int:
    """How many things wait for ``user`` (each kind counted up to :data:`COUNT_CAP`)."""
    if user is None or not user.is_authenticated:
        return 0
    return sum(
        notice.items.order_by().values("pk")[:COUNT_CAP].count()
        for notice in notices(user=user, now=now)
    )


# The navigation's count is remembered this long at most, per person (as a number only): it is on
# every page, and counting afresh costs a few indexed queries (benchmarks/notifications.py).
REMEMBER_SECONDS = 30


def navigation_count(*, user: User | None) -> int:
    """:func:`notification_count` for the navigation, which is on every page: remembered in this
    process's cache for :data:`REMEMBER_SECONDS` at most, so something new shows within that."""
    from django.core.cache import cache

    if user is None or not user.is_authenticated:
        return 0
    now = timezone.now()
    key = f"haven:notifications:{user.pk}:{int(now.timestamp()) // REMEMBER_SECONDS}"
    found = cache.get(key)
    if found is None:
        found = notification_count(user=user, now=now)
        cache.set(key, found, REMEMBER_SECONDS)
    return int(found)
