"""Audit entries as a reader reads them: an action code ("case.view") as words in the page's
language ("Case — opened", "사례 — 열람"), a record type ("cases.case") as its name, and a
detail's keys as words. Codes no label is known for are shown as they are."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# What an action is about: the part of its code before the dot.
SUBJECTS = {
    "api": _("API token"),
    "attachment": _("File"),
    "broker": _("Broker"),
    "case": _("Case"),
    "consent": _("Consent"),
    "duplicate": _("Duplicates"),
    "group": _("Group"),
    "key": _("Key"),
    "keys": _("Organisation keys"),
    "linkage": _("Private linkage"),
    "lockdown": _("Lockdown"),
    "message": _("Message"),
    "partner": _("Partner"),
    "person": _("Person"),
    "portal": _("Portal"),
    "recovery": _("Recovery"),
    "referral": _("Referral"),
    "request": _("Request"),
    "retention": _("Retention"),
    "search": _("Search index"),
    "two_factor": _("Two-factor login"),
    "user": _("Staff account"),
    "audit": _("Audit trail"),
}
# What was done: the part after the dot.
VERBS = {
    "accepted": _("accepted by the partner"),
    "acknowledged": _("acknowledged by the partner"),
    "add": _("added"),
    "approved": _("approved"),
    "assign": _("assigned"),
    "consent": _("consent attached"),
    "create": _("created"),
    "credential_issue": _("access code issued"),
    "declined": _("declined"),
    "delete": _("deleted"),
    "download": _("downloaded"),
    "draft": _("returned as a draft"),
    "drill": _("drill"),
    "encode": _("encoded"),
    "enrol": _("enrolled"),
    "export": _("exported"),
    "grant": _("access granted"),
    "hold": _("held back"),
    "index": _("indexed"),
    "index_rotate": _("key replaced"),
    "index_rotate_abandon": _("key replacement abandoned"),
    "index_rotate_start": _("key replacement started"),
    "leave": _("removed on leaving"),
    "lift": _("lifted"),
    "link": _("linked"),
    "list": _("listed"),
    "login": _("logged in"),
    "merge": _("merged"),
    "message": _("message"),
    "model_train": _("model trained"),
    "not_same": _("marked not the same person"),
    "note": _("note added"),
    "notes": _("notes read"),
    "packet": _("packet read"),
    "partner": _("partner changed"),
    "password_change": _("password changed"),
    "password_reset": _("password reset"),
    "purge": _("purged"),
    "recovery_codes": _("recovery codes made"),
    "recovery_used": _("recovery code used"),
    "request": _("request filed"),
    "restore": _("restored"),
    "review": _("reviewed"),
    "revoke": _("access revoked"),
    "rotate": _("replaced"),
    "rotate_user": _("personal key replaced"),
    "rotate_user_start": _("personal key replacement started"),
    "run": _("pass run"),
    "search": _("searched"),
    "send": _("sent"),
    "sent": _("sent"),
    "setup": _("set up"),
    "share": _("shared"),
    "start": _("started"),
    "status": _("status changed"),
    "submitted": _("submitted for approval"),
    "team_create": _("team key created"),
    "token": _("issued"),
    "token_revoke": _("revoked"),
    "transition": _("journey step"),
    "triage": _("triaged"),
    "undo": _("decision undone"),
    "update": _("changed"),
    "view": _("opened"),
    "withdrawn": _("withdrawn"),
}
RECORD_TYPES = {
    "cases.case": _("Case"),
    "cases.request": _("Request"),
    "cases.group": _("Group"),
    "cases.person": _("Person"),
    "referrals.referral": _("Referral"),
    "referrals.partner": _("Partner"),
    "referrals.consent": _("Consent"),
    "brokers.broker": _("Broker"),
    "accounts.user": _("Staff account"),
    "attachments.attachment": _("File"),
    "messaging.message": _("Message"),
    "lockdown.lockdown": _("Lockdown"),
}
DETAIL_KEYS = {
    "cases": _("cases"),
    "case": _("case"),
    "fields": _("fields"),
    "from": _("from"),
    "to": _("to"),
    "status": _("status"),
    "people": _("people"),
    "channel": _("channel"),
    "group": _("group"),
    "partner": _("partner"),
    "consent": _("consent"),
    "owner": _("owner"),
    "found": _("found"),
    "requests": _("requests"),
    "groups": _("groups"),
    "notes": _("notes"),
    "consents": _("consents"),
    "data_keys": _("data keys"),
    "cases_moved": _("cases moved"),
    "announced": _("announced"),
    "brokers": _("brokers"),
    "conversations": _("conversations"),
    "copy": _("copy"),
    "count": _("count"),
    "credential_revoked": _("access code revoked"),
    "days": _("days"),
    "decision": _("decision"),
    "entries": _("entries"),
    "generation": _("generation"),
    "grants": _("grants"),
    "grants_lost": _("grants lost"),
    "keys_removed": _("keys removed"),
    "kind": _("kind"),
    "left": _("left"),
    "message": _("message"),
    "missing": _("missing"),
    "new_generation": _("new generation"),
    "note": _("note"),
    "old_generation": _("old generation"),
    "request": _("request"),
    "resealed": _("sealed again"),
    "restored": _("restored"),
    "role": _("role"),
    "rotated": _("replaced"),
    "sessions": _("sessions"),
    "team_key": _("team key"),
    "team_keys": _("team keys"),
    "token": _("token"),
    "tokens": _("tokens"),
    "with": _("with"),
}


def action_label(code: str) -> str:
    """``case.view`` as "Case — opened"; an unknown code as itself."""
    subject, _dot, verb = code.partition(".")
    if subject in SUBJECTS and verb in VERBS:
        return f"{SUBJECTS[subject]} — {VERBS[verb]}"
    return code


def record_type_label(code: str) -> str:
    return str(RECORD_TYPES.get(code, code))


LONG_LIST = 3  # more items than this are counted, the list folded away


def detail_items(detail: Any) -> list[tuple[str, list[str]]]:
    """An entry's detail as (key in words, values) pairs to show."""
    if not isinstance(detail, dict):
        return [("", [str(detail)])] if detail else []
    items = []
    for key, value in sorted(detail.items()):
        if isinstance(value, list):
            shown = [str(v) for v in value]
        elif isinstance(value, dict):
            shown = [f"{k}: {v}" for k, v in sorted(value.items())]
        elif value is None:
            shown = ["—"]
        else:
            shown = [str(value)]
        items.append((str(DETAIL_KEYS.get(key, key)), shown))
    return items
