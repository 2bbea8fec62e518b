"""Exports: the case list for supervisors, the audit trail for auditors, as CSV or XLSX.

An export is plaintext leaving Haven: the case list carries names and birth dates. So it holds
only the cases the person may open (the same need-to-know query as the case list), is capped
(:data:`MAX_CASE_ROWS`: narrow the filters for more), is made in memory and sent with
``Cache-Control: no-store``, and is audited with the id of every case in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from haven import access
from haven.accounts.models import User
from haven.audit.labels import action_label
from haven.audit.models import AuditEntry
from haven.audit.selectors import audit_entry_list
from haven.audit.services import audit_record
from haven.cases.models import Case
from haven.crypto import KeyContext
from haven.exports.tables import FORMATS, table_bytes
from haven.vault.sealed import data_keys_unlock, payload_read

MAX_CASE_ROWS = 10_000
MAX_AUDIT_ROWS = 200_000


@dataclass
class Export:
    content: bytes
    content_type: str
    filename: str
    rows: int


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationError({"format": _("Choose CSV or XLSX.")})
    return fmt


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _birth(person: dict[str, Any]) -> str:
    birth = person.get("birth") or {}
    value = birth.get("value", "")
    if value and birth.get("calendar") == "lunar":
        return f"{value} ({_('lunar')})"
    return value


def case_export(*, ctx: KeyContext, user: User, cases: QuerySet[Case], fmt: str) -> Export:
    """The cases of ``cases`` (a case-list query for ``user``: only cases they may open) as a
    table with the person's names, sex, birth and origin, the case's state, urgency, country,
    owner and dates. Refused over :data:`MAX_CASE_ROWS`. Audited with every case's id."""
    if not access.allowed(user, "case.export"):
        raise PermissionDenied(_("Only supervisors export the case list."))
    fmt = _fmt(fmt)
    visible = cases.filter(access.visible_to(user)).select_related(
        "person", "person__data_key", "owner", "team", "request"
    )
    chosen = list(visible[: MAX_CASE_ROWS + 1])
    if len(chosen) > MAX_CASE_ROWS:
        raise ValidationError(
            {
                "cases": _(
                    "More than %(n)s cases: narrow the filters (state, country, owner) and export "
                    "in parts."
                )
                % {"n": f"{MAX_CASE_ROWS:,}"}
            }
        )
    data_keys_unlock(ctx=ctx, key_ids=[case.data_key_id for case in chosen])
    headers = [
        _("Case"),
        _("Name (Hangul)"),
        _("Name (romanized)"),
        _("Aliases"),
        _("Sex"),
        _("Birth"),
        _("Origin"),
        _("State"),
        _("Urgency"),
        _("Country"),
        _("Owner"),
        _("Team"),
        _("Channel"),
        _("Opened"),
        _("Last step"),
        _("Updated"),
    ]
    rows = []
    for case in chosen:
        person = payload_read(ctx=ctx, record=case.person)
        rows.append(
            [
                str(case.pk),
                person.get("name_hangul", ""),
                person.get("name_romanized", ""),
                "; ".join(person.get("aliases") or []),
                person.get("sex", ""),
                _birth(person),
                person.get("origin_region", ""),
                case.get_state_display(),
                case.get_urgency_display(),
                case.country,
                case.owner.username if case.owner else "",
                case.team.name if case.team else "",
                case.request.get_channel_display() if case.request else "",
                _local(case.opened_at),
                _local(case.state_changed_at),
                _local(case.updated_at),
            ]
        )
    content, content_type = table_bytes(fmt, headers, rows, sheet=_("Cases"))
    audit_record(
        actor=user,
        action="case.export",
        detail={"format": fmt, "rows": len(rows), "cases": [str(c.pk) for c in chosen]},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return Export(content, content_type, f"cases-{stamp}.{fmt}", len(rows))


def _detail_text(detail: Any) -> str:
    if not isinstance(detail, dict):
        return str(detail)
    parts = []
    for key, value in sorted(detail.items()):
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:20]) + (
                f" (+{len(value) - 20})" if len(value) > 20 else ""
            )
        else:
            shown = str(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def audit_export(*, user: User, fmt: str, **filters: Any) -> Export:
    """The audit trail (narrowed by the viewer's filters) with readable action names, who, when,
    the record's pseudonym and the detail as text. Auditors only; the export is itself audited."""
    if not access.allowed(user, "audit.export"):
        raise PermissionDenied(_("Only auditors export the audit trail."))
    fmt = _fmt(fmt)
    entries: QuerySet[AuditEntry] = audit_entry_list(user=user, **filters)
    chosen = list(entries[: MAX_AUDIT_ROWS + 1])
    if len(chosen) > MAX_AUDIT_ROWS:
        raise ValidationError(
            {
                "entries": _("More than %(n)s entries: narrow the period.")
                % {"n": f"{MAX_AUDIT_ROWS:,}"}
            }
        )
    headers = [
        _("Number"),
        _("When"),
        _("Who"),
        _("What"),
        _("Action code"),
        _("Record kind"),
        _("Record"),
        _("Details"),
        _("Session"),
        # So that an exported stretch can be checked against the chain (or an anchor) elsewhere.
        _("Previous hash"),
        _("Entry hash"),
    ]
    rows = [
        [
            entry.seq,
            _local(entry.at),
            entry.actor.username if entry.actor else _("(Haven: a command or the portal)"),
            action_label(entry.action),
            entry.action,
            entry.target_type,
            entry.target_id,
            _detail_text(entry.detail),
            entry.session,
            entry.prev_hash,
            entry.entry_hash,
        ]
        for entry in chosen
    ]
    content, content_type = table_bytes(fmt, headers, rows, sheet=_("Audit trail"))
    audit_record(
        actor=user,
        action="audit.export",
        detail={
            "format": fmt,
            "rows": len(rows),
            "filters": ", ".join(f"{k}={v}" for k, v in sorted(filters.items()) if v),
        },
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return Export(content, content_type, f"audit-{stamp}.{fmt}", len(rows))
