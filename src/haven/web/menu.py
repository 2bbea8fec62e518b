"""What each role reaches from the navigation and from its home page, in one place.

Every page a role can open from the top of Haven is one :class:`Entry` of :data:`ENTRIES`: its
URL name, its label, the actions of :data:`haven.access.PERMISSIONS` that open it (any one of
them), and what it is for (the line under it on a role's home page). The navigation and the home
pages of roles that do not work with cases show exactly the entries :func:`haven.access.allowed`
lets the person open, so neither can link to a page that answers 403.

A new page (statements, statistics, an import, staff management) adds its entry here, in the
place it should take in the navigation; nothing else needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from haven import access

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from haven.accounts.models import User


@dataclass(frozen=True)
class Entry:
    url: str  # a URL name without arguments
    label: StrOrPromise
    actions: tuple[str, ...]  # any one of these opens it (keys of access.PERMISSIONS)
    about: StrOrPromise = ""  # what it is for, under its link on a home page
    nav: bool = True  # in the navigation bar
    home: bool = True  # on the home page of roles that do not work with cases

    def opens_for(self, user: User) -> bool:
        return any(access.allowed(user, action) for action in self.actions)


ENTRIES: tuple[Entry, ...] = (
    Entry(
        "web:requests",
        _("Requests"),
        ("request.read",),
        _("Requests as they arrive: triage, owners, messages."),
    ),
    Entry("web:cases", _("Cases"), ("case.read",), _("Every case you hold, with filters.")),
    Entry(
        "web:groups", _("Groups"), ("case.read",), _("People travelling together, moved together.")
    ),
    Entry(
        "web:search",
        _("Search"),
        ("case.read",),
        _("People, groups, brokers and requests by name, part of a name or number."),
    ),
    Entry(
        "web:brokers",
        _("Brokers"),
        ("broker.read",),
        _("Brokers and the record of their requests."),
    ),
    Entry(
        "web:referrals",
        _("Referrals"),
        ("referral.read", "referral.read_sent"),
        _("Referrals sent to your agency: read the packet, acknowledge, report the outcome."),
    ),
    Entry(
        "web:partners",
        _("Partners"),
        ("partner.read",),
        _("The agencies referrals are sent to."),
    ),
    Entry(
        "web:duplicates",
        _("Duplicates"),
        ("duplicate.review",),
        _("Possible duplicates found by the duplicate pass, to decide."),
    ),
    Entry(
        "web:statements",
        _("Statements"),
        ("statement.read",),
        _("Press statements: draft, approve and release, behind the disclosure gate."),
    ),
    Entry(
        "web:covers",
        _("Cover records"),
        ("cover.read",),
        _("What may be said in public about a case or group, and whether it is safe to yet."),
    ),
    Entry(
        "web:stats",
        _("Statistics"),
        ("stats.read",),
        _("Counts by year, channel, origin and outcome, with small figures kept back; releases."),
    ),
    Entry(
        "web:imports",
        _("Import"),
        ("import.run",),
        _("Load people from a spreadsheet: a dry run first, then the load (undoable)."),
    ),
    Entry(
        "web:staff",
        _("Staff"),
        ("user.manage",),
        _("Staff accounts: create, change role or team, deactivate, reset a password."),
    ),
    Entry("web:keys", _("Keys"), ("keys.manage",), _("Share, replace and restore the team keys.")),
    Entry(
        "web:retention",
        _("Retention"),
        ("retention.read",),
        _("Cases due to be destroyed, and holds."),
    ),
    Entry("web:lockdown", _("Lockdown"), ("lockdown.start",), _("Lock Haven down, or drill it.")),
    Entry(
        "web:audit",
        _("Audit trail"),
        ("audit.read",),
        _("Every change and every read of sensitive data: filter, verify the chain, export."),
    ),
)


@dataclass(frozen=True)
class Link:
    url: str
    label: StrOrPromise
    about: StrOrPromise
    current: bool


def entries_for(user: User, *, where: str, path: str = "") -> list[Link]:
    """The entries ``user`` can open, for the navigation (``where="nav"``) or a home page
    (``"home"``); ``path`` marks the entry of the page being shown."""
    links = []
    for entry in ENTRIES:
        if not getattr(entry, where) or not entry.opens_for(user):
            continue
        url = reverse(entry.url)
        links.append(
            Link(url=url, label=entry.label, about=entry.about, current=path.startswith(url))
        )
    return links
