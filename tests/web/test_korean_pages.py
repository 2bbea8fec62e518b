"""Every staff page in Korean: no English left behind, no raw codes (issue 18, item 9).

Each page of the web URL conf is either listed in :data:`PAGES` (who opens it, and where) or in
:data:`NOT_PAGES` (why it renders no page of its own): a page added without being listed fails
``test_every_page_is_listed``. To add yours, add one line to ``PAGES``: a function of the
:class:`World` returning ``(user name, URL)``; the world has a case in a group with a journey,
a note, a consent and a referral, a broker's request, a portal request with a message, a partner.

A page fails when its visible text (tags, attributes, scripts and what staff typed left out)
holds a string of the Korean catalogue left in English, three English words in a row that are
not data, or a code (``in_transit``, ``restaurant_worker``, ``case.view``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from django.urls import reverse

from haven.accounts.models import User
from haven.cases.models import Case, Group, Request
from haven.cases.services import PersonInput, journey_advance, note_add, request_create
from haven.portal.conversation import requester_message_add
from haven.portal.services import Submission, portal_request_create
from haven.referrals.models import Referral
from haven.referrals.services import (
    consent_record,
    referral_approve,
    referral_create,
    referral_send,
)
from tests.factories import login, make_broker
from tests.test_access_matrix import url_routes

pytestmark = pytest.mark.django_db

CATALOGUE = Path(__file__).resolve().parents[2] / "src/haven/locale/ko/LC_MESSAGES/django.po"


@dataclass
class World:
    case: Case
    request: Request
    portal_request: Request
    group: Group
    referral: Referral
    users: dict[str, User]


# URL name -> (who opens it, its URL). Add new pages here.
PAGES: dict[str, Callable[[World], tuple[str, str]]] = {
    "web:login": lambda w: ("", reverse("web:login")),
    "web:dashboard": lambda w: ("alice", reverse("web:dashboard")),
    "web:requests": lambda w: ("dave", reverse("web:requests")),
    "web:request_new": lambda w: ("alice", reverse("web:request_new")),
    "web:request": lambda w: ("alice", reverse("web:request", args=[w.request.pk])),
    "web:cases": lambda w: ("alice", reverse("web:cases")),
    "web:case": lambda w: ("alice", reverse("web:case", args=[w.case.pk])),
    "web:case_edit": lambda w: ("alice", reverse("web:case_edit", args=[w.case.pk])),
    "web:person_edit": lambda w: ("alice", reverse("web:person_edit", args=[w.case.pk])),
    "web:case_delete": lambda w: ("alice", reverse("web:case_delete", args=[w.case.pk])),
    "web:notifications": lambda w: ("alice", reverse("web:notifications")),
    "web:search": lambda w: ("alice", reverse("web:search") + "?q=%EC%84%A0%ED%9D%AC"),
    "web:groups": lambda w: ("alice", reverse("web:groups")),
    "web:group": lambda w: ("alice", reverse("web:group", args=[w.group.pk])),
    "web:duplicates": lambda w: ("alice", reverse("web:duplicates")),
    "web:keys": lambda w: ("alice", reverse("web:keys")),
    "web:retention": lambda w: ("alice", reverse("web:retention")),
    "web:lockdown": lambda w: ("alice", reverse("web:lockdown")),
    "web:password_change": lambda w: ("bob", reverse("web:password_change")),
    "web:confirm_password": lambda w: ("bob", reverse("web:confirm_password")),
    "web:referral_new": lambda w: ("alice", reverse("web:referral_new", args=[w.case.pk])),
    "web:referrals": lambda w: ("alice", reverse("web:referrals")),
    "web:referral": lambda w: ("alice", reverse("web:referral", args=[w.referral.pk])),
    "web:brokers": lambda w: ("alice", reverse("web:brokers")),
    "web:broker_new": lambda w: ("alice", reverse("web:broker_new")),
    "web:broker": lambda w: ("alice", reverse("web:broker", args=[w.request.broker_id])),
    "web:broker_edit": lambda w: ("alice", reverse("web:broker_edit", args=[w.request.broker_id])),
    "web:partners": lambda w: ("alice", reverse("web:partners")),
    "web:partner_new": lambda w: ("alice", reverse("web:partner_new")),
    "web:partner_edit": lambda w: (
        "alice",
        reverse("web:partner_edit", args=[w.referral.partner_id]),
    ),
    "web:audit": lambda w: ("grace", reverse("web:audit")),
    "web:staff": lambda w: ("erin", reverse("web:staff")),
    "web:staff_new": lambda w: ("erin", reverse("web:staff_new")),
    "web:staff_member": lambda w: ("erin", reverse("web:staff_member", args=[w.users["bob"].pk])),
    "web:imports": lambda w: ("alice", reverse("web:imports")),
    "web:stats": lambda w: ("heidi", reverse("web:stats")),
    "web:stats_now": lambda w: ("alice", reverse("web:stats_now")),
    "web:stats_releases": lambda w: ("heidi", reverse("web:stats_releases")),
    "web:statements": lambda w: ("heidi", reverse("web:statements")),
    "web:statement_new": lambda w: ("heidi", reverse("web:statement_new")),
    "web:covers": lambda w: ("heidi", reverse("web:covers")),
    "web:case_cover": lambda w: ("alice", reverse("web:case_cover", args=[w.case.pk])),
    "web:group_cover": lambda w: ("alice", reverse("web:group_cover", args=[w.case.pk])),
}
# The same pages as other roles see them (their homes, the partner's view of a referral).
ALSO: dict[str, Callable[[World], tuple[str, str]]] = {
    "home of a partner liaison": lambda w: ("frank", reverse("web:dashboard")),
    "home of an auditor": lambda w: ("grace", reverse("web:dashboard")),
    "home of a press officer": lambda w: ("heidi", reverse("web:dashboard")),
    "home of an administrator": lambda w: ("erin", reverse("web:dashboard")),
    "a referral as its partner sees it": lambda w: (
        "frank",
        reverse("web:referral", args=[w.referral.pk]),
    ),
    "the intake inbox waiting for a reply": lambda w: (
        "dave",
        reverse("web:requests") + "?awaiting=on",
    ),
}
# Web URL names that render no page of their own to check, and why.
NOT_PAGES = {
    "set_language": "a redirect",
    "web:favicon": "an image",
    "web:login_two_factor": "needs a login half done (tests/web/test_login.py)",
    "web:logout": "POST only",
    "web:requests_assign": "POST only",
    "web:request_triage": "POST only",
    "web:request_message": "POST only",
    "web:case_message": "POST only",
    "web:broker_credential": "POST only",
    "web:attachment": "a file download",
    "web:attachment_original": "a file download",
    "web:case_move": "POST only",
    "web:case_note": "POST only",
    "web:case_group_move": "POST only",
    "web:group_move": "POST only",
    "web:case_grant": "POST only",
    "web:case_revoke": "POST only",
    "web:case_duplicate_decide": "POST only",
    "web:case_duplicate_undo": "POST only",
    "web:keys_share": "POST only",
    "web:keys_restore": "POST only",
    "web:keys_rotate": "POST only",
    "web:retention_hold": "POST only",
    "web:lockdown_start": "POST only",
    "web:referral_action": "POST only",
    "web:broker_status": "POST only",
    "web:audit_export": "a CSV or XLSX file",
    "web:case_export": "a CSV or XLSX file",
    "web:case_print": "a PDF file (tests/documents)",
    "web:staff_change": "POST only",
    "web:staff_active": "POST only",
    "web:staff_reset": "POST only",
    "web:import": "needs a staged import (tests/imports/test_views.py renders it)",
    "web:import_progress": "needs an import being loaded (tests/imports/test_views.py)",
    "web:import_undo": "needs a loaded import (tests/imports/test_views.py)",
    "web:import_remap": "POST only",
    "web:import_commit": "POST only",
    "web:import_discard": "POST only",
    "web:import_bad_rows": "a CSV or XLSX file",
    "web:import_mapping_delete": "POST only",
    "web:stats_count_missing": "POST only",
    "web:stats_release": "needs a prepared release (tests/stats/test_views.py)",
    "web:stats_release_approve": "POST only",
    "web:stats_release_discard": "POST only",
    "web:stats_release_export": "a CSV, XLSX or SVG file",
    "web:cover": "needs a cover record (tests/disclosure/test_views.py)",
    "web:case_opening": "POST only",
    "web:statement": "needs a statement (tests/disclosure/test_views.py)",
    "web:statement_edit": "needs a statement (tests/disclosure/test_views.py)",
    "web:statement_text": "plain text of a released statement",
    "web:statement_print": "needs a statement (tests/disclosure/test_views.py)",
    "web:statement_pdf": "a PDF file",
    "web:statement_action": "POST only",
    "web:duplicates_run": "POST only",
}
# Latin text that is data, not interface: names staff typed, product names.
ALLOWED_LATIN = (
    "Kim Sun-hui",
    "Ministry of Unification",
    "Mr Jang (Dandong)",
    "Yanji three",
    "Team A",
    "Team B",
    "Haven",
    "English",
    "CSV",
    "API",
    "ID",
    "QR",
)
RAW_CODE = re.compile(
    r"\b(?:[a-z]+_[a-z_]+|(?:case|request|referral|broker|group|key|user)\.[a-z_]+)\b"
)
ENGLISH_RUN = re.compile(r"[A-Za-z][a-z']+(?:[ ,]+[A-Za-z][a-z']+)+")
# Single English words pages were found to show (issue 18), and command lines, which are not
# translated (they are typed as they are).
KNOWN_ENGLISH = re.compile(
    r"\b(?:Supervisors|Intake|Casework|Draft|Received|Unknown|Female|Male|female|male)\b"
)
COMMAND = re.compile(r"haven [a-z][a-z -]*(?: (?:NAME|--[a-z-]+|[A-Z]+))*")


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts, styles or code blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "datalist", "code", "textarea"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "datalist", "code", "textarea") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


@cache
def translated_msgids() -> frozenset[str]:
    """Every English string the Korean catalogue translates."""
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po)
    return frozenset(
        message.id
        for message in catalogue
        if isinstance(message.id, str) and message.string and message.string != message.id
    )


def english_left(html: str) -> list[str]:
    """What of a Korean page is still English, or a raw code."""
    problems = []
    known = translated_msgids()
    for text in visible_text(html):
        data_free = COMMAND.sub("", text)
        for allowed in ALLOWED_LATIN:
            data_free = data_free.replace(allowed, "")
        if text in known and text not in ALLOWED_LATIN:
            problems.append(f"untranslated: {text!r}")
        elif ENGLISH_RUN.search(data_free) or KNOWN_ENGLISH.search(data_free):
            problems.append(f"English: {text!r}")
        if RAW_CODE.search(data_free):
            problems.append(f"code: {text!r}")
    return problems


@pytest.fixture
def world(ctx, alice, bob, dave, frank, grace, heidi, erin, partner) -> World:
    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Jang (Dandong)")
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel="broker",
        broker=broker,
        account="세 사람이 도움을 청합니다.",
        people=[
            PersonInput(name_hangul="김선희", name_romanized="Kim Sun-hui", birth_value="1975"),
            PersonInput(name_hangul="리영호"),
        ],
        group_label="Yanji three",
        country="CN",
        owner=bob,
    )
    case = request.cases.order_by("opened_at", "pk").first()
    journey_advance(ctx=ctx, actor=alice, case=case, to_state="verifying", expected_version=1)
    case.refresh_from_db()
    note_add(ctx=ctx, actor=alice, case=case, text="연락이 닿았습니다.")
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["name_hangul", "sex"],
        method="verbal",
        words="네.",
    )
    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        disclosed_fields=["name_hangul", "sex"],
        consent=consent,
    )
    referral_approve(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    portal, receipt = portal_request_create(
        submission=Submission(
            names=["김순옥"], country="CN", region="", urgency=3, account="도와주세요.", contact=""
        ),
        form_token="t-ko",
    )
    requester_message_add(receipt, "지금 선양에 있습니다.", form_token="m-ko")
    users = {u.username: u for u in (alice, bob, dave, frank, grace, heidi, erin)}
    return World(
        case=case,
        request=request,
        portal_request=portal,
        group=Group.objects.get(request=request),
        referral=referral,
        users=users,
    )


def _korean(client, world: World, who: str, url: str) -> str:
    if who:
        login(client, world.users[who])
    client.post(reverse("set_language"), {"language": "ko", "next": "/"})
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_every_page_is_listed():
    names = {route.name for route in url_routes() if not route.name.startswith(("api", "portal"))}
    unlisted = names - set(PAGES) - set(NOT_PAGES)
    assert not unlisted, f"add these pages to PAGES (or NOT_PAGES with why): {sorted(unlisted)}"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_page_is_korean_through_and_through(client, world, name):
    who, url = PAGES[name](world)
    assert english_left(_korean(client, world, who, url)) == []


@pytest.mark.parametrize("name", sorted(ALSO))
def test_other_roles_pages_are_korean_too(client, world, name):
    who, url = ALSO[name](world)
    assert english_left(_korean(client, world, who, url)) == []


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        (
            "web:person_edit",
            {
                "birth_value": "1975",
                "birth_precision": "day",
                "sex": "unknown",
                "occupation": "unknown",
                "name_hangul": "김선희",
            },
        ),
        (
            "web:case_move",
            {"to_state": "arrived", "source": "staff", "confidence": "confirmed", "country": "XX"},
        ),
        ("web:case_move", {"to_state": "received", "source": "staff", "confidence": "confirmed"}),
        (
            "web:referral_new",
            {"purpose": "relief", "consent_method": "verbal", "consent_words": "네"},
        ),
    ],
)
def test_refusals_are_korean(client, world, url_name, data):
    case = world.case
    _korean(client, world, "alice", "/")
    version = case.person.version if url_name == "web:person_edit" else case.version
    response = client.post(
        reverse(url_name, args=[case.pk]),
        {"version": str(version), "partner": str(world.referral.partner_id), **data},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist' in html or 'role="alert"' in html
    assert english_left(html) == []
