"""The auditors' viewer of the audit trail: filter the entries, see the anchor, verify the chain."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
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
            "anchor": selectors.audit_anchor(),
            "verify": verify,
            "long_list": labels.LONG_LIST,
        },
        status=status,
    )


EXPORT_COLUMNS = (
    "seq",
    "at",
    "staff_member",
    "action",
    "action_label",
    "record_type",
    "record_id",
    "session",
    "detail",
    "prev_hash",
    "entry_hash",
)


@login_required
@require_http_methods(["GET", "HEAD"])
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The entries the filter selects as CSV (UTF-8 with a byte-order mark, which spreadsheet
    programs need to read Korean), hashes included, so that they can be kept or checked
    elsewhere. The export is itself recorded in the trail."""
    form, entries, status = _filtered(request)
    if status != 200:
        return HttpResponse(
            _("Correct the filter to export entries."), status=400, content_type="text/plain"
        )
    rows = selectors.audit_export(user=actor(request), entries=entries)
    response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="haven-audit-{stamp}.csv"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(entries: Any) -> Any:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
    for entry in entries:
        yield writer.writerow(
            [
                entry.seq,
                entry.at.isoformat(),
                entry.actor.username if entry.actor else "",
                entry.action,
                _spreadsheet_safe(labels.action_label(entry.action)),
                entry.target_type,
                entry.target_id,
                entry.session,
                _spreadsheet_safe(_compact_json(entry.detail)),
                entry.prev_hash,
                entry.entry_hash,
            ]
        )


def _spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet program will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
