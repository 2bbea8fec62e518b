"""A case's printable file: the person, the case, the journey, the notes and the referrals, in
Korean or English, every page marked with who printed it and when. Made in memory; the print is
audited (``case.print``) like any read of the case.

A printed file is plaintext outside Haven: whoever holds the paper (or the PDF) reads it all.
The marking says whose copy it is, so a copy found where it should not be can be traced in the
audit trail.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from haven import access
from haven.accounts.models import User
from haven.audit.services import audit_record
from haven.cases import selectors
from haven.crypto import KeyContext
from haven.documents.pdf import Document
from haven.referrals.selectors import case_referrals

LANGUAGES = ("en", "ko")


def _when(value: Any, with_time: bool = True) -> str:
    if not value:
        return ""
    local = timezone.localtime(value)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _choice_label(value: str, labels: dict[str, str]) -> str:
    return labels.get(value, value) if value else ""


def _person_facts(person: dict[str, Any]) -> list[tuple[str, str]]:
    sexes = {"female": _("Female"), "male": _("Male"), "other": _("Other"), "unknown": _("Unknown")}
    birth = person.get("birth") or {}
    born = birth.get("value", "")
    if born and birth.get("calendar") == "lunar":
        born += f" ({_('lunar')})"
    family = "; ".join(
        f"{link.get('relation', '')}: {link.get('name', '')}".strip(": ")
        for link in person.get("family") or []
    )
    return [
        (_("Name (Hangul)"), person.get("name_hangul", "")),
        (_("Name (romanized)"), person.get("name_romanized", "")),
        (_("Aliases"), ", ".join(person.get("aliases") or [])),
        (_("Sex"), _choice_label(person.get("sex", ""), sexes)),
        (_("Birth"), born),
        (_("Origin"), person.get("origin_region", "")),
        (_("Occupation"), str(person.get("occupation", "") or "")),
        (_("Family"), family),
    ]


def case_file_pdf(*, ctx: KeyContext, user: User, case_id: Any, language: str) -> bytes:
    """The PDF of one case ``user`` may open (404 otherwise), in ``language`` (en or ko)."""
    if not access.allowed(user, "case.print"):
        raise PermissionDenied("Your role cannot print case files.")
    language = language if language in LANGUAGES else "en"
    detail = selectors.case_detail(ctx=ctx, user=user, case_id=case_id)
    case = detail.case
    referrals, consents = case_referrals(user=user, case=case)
    printed_at = timezone.localtime()
    with translation.override(language):
        marking = _(
            "Printed by %(user)s on %(when)s · Case %(case)s · CONFIDENTIAL: keep locked away, "
            "shred when done"
        ) % {
            "user": user.username,
            "when": printed_at.strftime("%Y-%m-%d %H:%M %Z"),
            "case": str(case.pk)[:8],
        }
        name = (
            detail.person.get("name_hangul")
            or detail.person.get("name_romanized")
            or (detail.person.get("aliases") or ["—"])[0]
        )
        document = Document(
            title=_("Case file: %(name)s") % {"name": name},
            subtitle=marking,
            language=language,
            marking=marking,
        )
        document.heading(_("Person"))
        document.facts(_person_facts(detail.person))
        document.heading(_("Case"))
        document.facts(
            [
                (_("State"), case.get_state_display()),
                (_("Urgency"), case.get_urgency_display()),
                (_("Country now"), case.country),
                (_("Exact place"), detail.data.get("exact_place", "")),
                (_("Owner"), case.owner.username if case.owner else ""),
                (_("Team"), case.team.name if case.team else ""),
                (_("Opened"), _when(case.opened_at)),
                (_("Next contact due"), _when(case.next_contact_due)),
            ]
        )
        document.heading(_("In their own words"))
        document.paragraph(detail.data.get("own_words", ""))
        if detail.data.get("summary"):
            document.heading(_("Summary"))
            document.paragraph(detail.data["summary"])
        document.heading(_("Journey"))
        document.table(
            [_("When"), _("Step"), _("Where"), _("Source"), _("How sure"), _("Note")],
            [
                [
                    _when(e.event.occurred_at),
                    (
                        f"{e.event.get_from_state_display()} → {e.event.get_to_state_display()}"
                        if e.event.from_state
                        else e.event.get_to_state_display()
                    ),
                    " / ".join(p for p in (e.event.country, e.region, e.place) if p),
                    e.event.get_source_display(),
                    e.event.get_confidence_display(),
                    e.note,
                ]
                for e in detail.events
            ],
            widths=[2.2, 3, 2.6, 1.6, 1.6, 4],
        )
        document.heading(_("Notes"))
        if detail.notes:
            for note in detail.notes:
                author = note["note"].author.username if note["note"].author else ""
                document.paragraph(
                    f"{_when(note['note'].created_at)} · {author}", muted=True, size=8.5
                )
                document.paragraph(note["text"])
        else:
            document.paragraph(_("No notes."), muted=True)
        document.heading(_("Referrals"))
        if referrals:
            document.table(
                [
                    _("Partner"),
                    _("Purpose"),
                    _("Status"),
                    _("Fields disclosed"),
                    _("Created"),
                    _("Sent"),
                ],
                [
                    [
                        r.partner.name,
                        r.get_purpose_display(),
                        r.get_status_display(),
                        ", ".join(r.disclosed_fields),
                        _when(r.created_at, with_time=False),
                        _when(r.sent_at, with_time=False),
                    ]
                    for r in referrals
                ],
                widths=[3, 2, 2, 4, 2, 2],
            )
        else:
            document.paragraph(_("No referrals."), muted=True)
        if consents:
            document.heading(_("Consents"))
            document.table(
                [_("Partner"), _("Purpose"), _("Fields"), _("Given"), _("Revoked")],
                [
                    [
                        c.partner.name,
                        c.get_purpose_display(),
                        ", ".join(c.fields),
                        _when(c.given_at, with_time=False),
                        _when(c.revoked_at, with_time=False)
                        if getattr(c, "revoked_at", None)
                        else "",
                    ]
                    for c in consents
                ],
                widths=[3, 2, 4, 2, 2],
            )
        content = document.output()
    audit_record(
        actor=user,
        action="case.print",
        target=case,
        detail={"language": language, "pages": document.pdf.page_no()},
    )
    return content
