"""Small template helpers for the staff pages."""

from __future__ import annotations

from typing import Any

from django import template

from haven import access

register = template.Library()


@register.filter
def reads_cases(user: Any) -> bool:
    """Whether ``user`` works with case contents (and so sees the case pages)."""
    return access.has_role(user, access.CASE_READERS)


@register.filter
def edits_partners(user: Any) -> bool:
    return access.has_role(user, access.PARTNER_EDITORS)


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
    return str(labels.get(value, value or "—"))
