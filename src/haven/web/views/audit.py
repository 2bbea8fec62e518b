"""The auditors' viewer of the audit trail: filter the entries, see the anchor, verify the chain."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from haven import access
from haven.accounts.models import User
from haven.audit import labels, selectors
from haven.audit.models import AuditEntry
from haven.web.forms import OwnerField
from haven.web.views.common import actor, paginate, query_without_page

# Problems listed on the page after "Verify the chain"; the rest are only counted.
MAX_SHOWN_PROBLEMS = 50
AUDIT_PAGE_SIZE = 50


def _dt_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _action_choices() -> list[tuple[str, str]]:
    actions = AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()
    return [("", str(_("Any")))] + [(a, labels.action_label(a)) for a in actions]


class AuditFilterForm(forms.Form):
    person = OwnerField(label=_("Staff member"), queryset=User.objects.none(), required=False)
    record = forms.CharField(
        label=_("Case or record id"),
        required=False,
        max_length=64,
        help_text=_("A case or record id (UUID), or the number of a staff account."),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    since = forms.DateTimeField(label=_("From"), required=False, widget=_dt_widget())
    until = forms.DateTimeField(label=_("To"), required=False, widget=_dt_widget())

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Everyone who may appear in the trail, deactivated accounts included.
        self.fields["person"].queryset = User.objects.order_by("username")  # type: ignore[attr-defined]
        self.fields["action"].choices = _action_choices()  # type: ignore[attr-defined]

    def clean_record(self) -> str:
        value = self.cleaned_data["record"].strip()
        if not value:
            return ""
        if value.isascii() and value.isdigit() and len(value) <= 18:
            return str(int(value))
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValidationError(
                _("Enter a case or record id (a UUID) or the number of a staff account."),
                code="invalid",
            ) from None

    def _clean_time(self, name: str) -> dt.datetime | None:
        value = self.cleaned_data[name]
        if value is None:
            return None
        try:  # the database compares in UTC: a time at the edge of the calendar cannot be moved
            value.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise ValidationError(
                _("Enter a date and time between the years 2 and 9998."), code="invalid"
            ) from None
        return value

    def clean_since(self) -> dt.datetime | None:
        return self._clean_time("since")

    def clean_until(self) -> dt.datetime | None:
        return self._clean_time("until")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since is not None and until is not None and since > until:
            self.add_error("until", _("The end of the period is before its start."))
        return data


def audit_head_context(user: User) -> dict[str, Any]:
    """What web/_audit_head.html shows: the signed head, whether it is signed, the server's key."""
    head = selectors.audit_signed_head(user=user)
    return {
        "anchor": head.anchor,
        "anchor_signed": head.signed,
        "audit_public_key": head.public_key,
    }


def _compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, Any, int]:
    """The filter form, the entries it selects (none when it cannot be read) and the status."""
    user = actor(request)
    access.require(access.has_role(user, access.AUDIT_READERS))
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    status = 200
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            filters = {
                "actor_id": data["person"].pk if data["person"] else None,
                "target_id": data["record"] or None,
                "action": data["action"] or None,
                "since": data["since"],
                "until": data["until"],
            }
        else:
            status = 400
    entries = selectors.audit_entry_list(user=user, **filters)
    if status == 400:
        entries = entries.none()  # an invalid filter shows nothing rather than everything
    return form, entries, status


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def audit_list(request: HttpRequest) -> HttpResponse:
    """GET: the filtered trail. POST (the "Verify the chain" button): the same, with the result."""
    form, entries, status = _filtered(request)
    page = paginate(request, entries, per_page=AUDIT_PAGE_SIZE)
    rows = [
        (
            entry,
            {
                "action": labels.action_label(entry.action),
                "target_type": labels.record_type_label(entry.target_type),
                "detail": labels.detail_items(entry.detail),
            },
        )
        for entry in page.object_list
    ]
    verify = None
    if request.method == "POST":
        verify = selectors.audit_verify(max_problems=MAX_SHOWN_PROBLEMS)
    return render(
        request,
        "web/audit_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            **audit_head_context(actor(request)),
            "verify": verify,
            "long_list": labels.LONG_LIST,
        },
        status=status,
    )
