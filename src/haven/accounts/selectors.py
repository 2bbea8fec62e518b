"""Reads of staff accounts for the administrators' pages (no case data: an administrator sees
who works here, their role, team and whether they can log in, never what they hold)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven import access
from haven.accounts.models import User


def _require(user: User) -> None:
    if not access.allowed(user, "user.manage"):
        raise PermissionDenied("Only administrators manage staff accounts.")


def staff_list(*, user: User, role: str = "", active: bool | None = None) -> QuerySet[User]:
    """Every staff account, with whether each has enrolled an authenticator."""
    _require(user)
    qs = (
        User.objects.select_related("team", "partner")
        .annotate(two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("username")
    )
    if role:
        qs = qs.filter(role=role)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def staff_get(*, user: User, user_id: Any) -> User:
    _require(user)
    found = staff_list(user=user).filter(pk=user_id).first()
    if found is None:
        raise Http404("No such staff member.")
    return found


@dataclass
class StaffKeys:
    """What an administrator may know about someone's keys: counts only."""

    has_key: bool
    team_keys: int
    stale_grants: int


def staff_keys(*, user: User, person: User) -> StaffKeys:
    from haven.vault.models import Grant, KeyShare

    _require(user)
    return StaffKeys(
        has_key=hasattr(person, "key"),
        team_keys=KeyShare.objects.filter(user=person).count(),
        stale_grants=Grant.objects.filter(user=person, stale=True).count(),
    )
