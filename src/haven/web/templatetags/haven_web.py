"""Small template helpers for the staff pages."""

from __future__ import annotations

import functools
from typing import Any

from django import template
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from haven import access, once

register = template.Library()


@register.simple_tag
def once_field() -> SafeString:
    """The hidden one-time token of a form that stores something (:mod:`haven.once`)."""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', once.FIELD, once.once_token_new()
    )


@register.filter
def reads_cases(user: Any) -> bool:
    """Whether ``user`` works with case contents (and so sees the case pages)."""
    return access.has_role(user, access.CASE_READERS)


@register.filter
def reads_partners(user: Any) -> bool:
    return access.allowed(user, "partner.read")


@register.filter
def edits_partners(user: Any) -> bool:
    return access.has_role(user, access.PARTNER_EDITORS)


@register.filter
def reads_statements(user: Any) -> bool:
    """Press officers and supervisors: the Statements and Cover records pages."""
    return access.allowed(user, "statement.read")


@register.filter
def records_covers(user: Any) -> bool:
    return access.allowed(user, "cover.write")


@register.filter
def text_list(value: Any) -> str:
    """A payload value shown as text: lists joined by commas, birth as value (precision)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        if "value" in value:
            return str(value.get("value") or "—")
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(text_list(v) for v in value) or "—"
    return str(value)


@register.filter
def person_choice(value: Any, kind: str) -> str:
    """The translated label of a person's ``sex`` or ``occupation`` code."""
    from haven.web.forms import OCCUPATION_CHOICES, PRECISION_CHOICES, SEX_CHOICES

    choices = {"sex": SEX_CHOICES, "occupation": OCCUPATION_CHOICES, "precision": PRECISION_CHOICES}
    labels = dict(choices.get(kind, []))
    if kind == "occupation" and value and value not in labels:
        # Written as told: shown as written, with the kind of work it was read as.
        from django.utils.translation import get_language

        from haven.matching.occupations import category_name, occupation_category

        category = occupation_category(str(value))
        if category not in ("other", "unknown"):
            return f"{value} ({category_name(category, get_language() or 'en')})"
        return str(value)
    return str(labels.get(value, value or "—"))


# Model.get_FOO_display() rebuilds a hashable copy of the choices on every call; on a list page of
# 50 rows that cost more than the database. These look the label up in a dict built once.
_STATE_LABELS: dict[str, Any] | None = None
_URGENCY_LABELS: dict[int, Any] | None = None


@register.filter
def state_label(value: str) -> str:
    global _STATE_LABELS
    if _STATE_LABELS is None:
        from haven.cases.journey import State

        _STATE_LABELS = dict(State.choices)
    return str(_STATE_LABELS.get(value, value))


@register.filter
def urgency_label(value: int) -> str:
    global _URGENCY_LABELS
    if _URGENCY_LABELS is None:
        from haven.cases.models import Urgency

        _URGENCY_LABELS = dict(Urgency.choices)
    return str(_URGENCY_LABELS.get(value, value))


@register.filter
def reads_audit(user: Any) -> bool:
    """Whether ``user`` reads the audit trail (and so sees the audit viewer)."""
    return access.has_role(user, access.AUDIT_READERS)


@register.filter
def reads_stats(user: Any) -> bool:
    return access.allowed(user, "stats.read") if user.is_authenticated else False


@register.filter
def country_name(code: str) -> str:
    """A country's ISO code as its name in the page's language (Thailand, 태국)."""
    from haven.countries import country_name as name

    return name(code or "")


@register.simple_tag
def country_datalist() -> str:
    """The names a country field suggests, in the page's language (``<datalist id=countries>``),
    rendered once per language and process: some 250 names that never change, on every list
    page."""
    return _country_datalist(translation.get_language() or "en")


@functools.lru_cache(maxsize=16)
def _country_datalist(language: str) -> str:
    from django.template.loader import render_to_string

    from haven.countries import country_names

    return render_to_string("web/_countries.html", {"countries": country_names(language)})


@register.inclusion_tag("web/_nav.html", takes_context=True)
def navigation(context: Any) -> dict[str, Any]:
    """The navigation bar: the pages the person can open (:mod:`haven.web.menu`) and how many
    things wait for them (:mod:`haven.notifications`)."""
    from django.urls import reverse

    from haven.notifications.selectors import navigation_count
    from haven.web.menu import entries_for

    request = context.get("request")
    user = context.get("user")
    path = getattr(request, "path", "")
    count = navigation_count(user=user)
    return {
        "links": entries_for(user, where="nav", path=path),
        "reads_cases": access.has_role(user, access.CASE_READERS),
        "on_home": path == reverse("web:dashboard"),
        "on_notifications": path.startswith(reverse("web:notifications")),
        "notification_count": count,
        "notification_label": "99+" if count > 99 else str(count),
    }


# The team keys' kinds as the pages' languages name them (the model's labels are not marked for
# translation, and changing them would be a migration of the vault's).
TEAM_KINDS = {
    "intake": _("Intake team"),
    "supervisors": _("Supervisors"),
    "staff": _("All case staff"),
    "team": _("Casework team"),
    "partner": _("Partner agency"),
}


@register.filter
def team_kind(kind: str) -> str:
    return str(TEAM_KINDS.get(kind, kind))
