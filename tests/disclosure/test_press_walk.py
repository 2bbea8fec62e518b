"""Every route, walked as the press officer (web and API), with every id there is: nothing about a
person who is not yet safe comes out — no name in any spelling, no place, no count, no state, not
even the cover values recorded for them.

The organisation holds a group of three waiting for a flight in Thailand (cover record "Lotus"),
a woman detained in Laos and a man whose contact was lost (their own cover records), and a pair
who arrived (with a released statement). The press officer has drafted statements about each.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from haven.api.services import api_token_create
from haven.cases.journey import State
from haven.cases.models import Case, Channel, Group, Request
from haven.cases.services import PersonInput, journey_advance, request_create
from haven.disclosure.models import Cover, Statement
from haven.disclosure.services import (
    StatementBlockedError,
    cover_set,
    statement_approve,
    statement_create,
    statement_release,
    statement_submit,
)
from tests.disclosure.helpers import TO_THAILAND, advance, arrive, cover, make_group
from tests.factories import PASSWORD, login

pytestmark = pytest.mark.django_db

# Canaries: true values, and the cover values recorded for people not yet safe.
FORBIDDEN = [
    # The group of three, waiting in Thailand.
    "김선희",
    "Kim Sun-hui",
    "Sun-hui",
    "리영호",
    "Ri Yong-ho",
    "박정민",
    "Pak Jong-min",
    "Jin Meihua",
    "Shanxi",
    "Taiyuan",
    "Luang Namtha",
    "Chiang Rai",
    "Bangkok",
    # Their cover values: nothing may be said of them at all yet.
    "Qingdao",
    "Harbour group",
    "twenty-one",
    "glassblowers",
    # The woman detained in Laos, and the man whose contact was lost.
    "최은정",
    "Choe Un-jong",
    "Magnolia",
    "Vientiane",
    "류경애",
    "Ryu Kyong-ae",
    "Hyesan",
    "Willow",
    # States of people not yet safe, in every way a page or the API writes them.
    "awaiting_flight",
    "Awaiting flight",
    "in_third_country",
    "In third country",
    "detained",
    "lost_contact",
    "Lost contact",
]


def _forbidden_in(text: str) -> list[str]:
    lowered = text.casefold()
    return [word for word in FORBIDDEN if word.casefold() in lowered]


@pytest.fixture
def world(ctx, alice, heidi, press) -> dict[str, Any]:
    waiting = make_group(ctx, alice)
    advance(ctx, alice, waiting, TO_THAILAND)
    lotus = cover_set(
        ctx=ctx,
        actor=alice,
        group=waiting,
        label="Lotus",
        fields={
            "name": cover(en="the Harbour group"),
            "count": cover(en="twenty-one"),
            "origin": cover(en="Qingdao"),
            "occupation": cover(en="glassblowers"),
        },
    )
    detained = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.STAFF,
        account="Alone.",
        people=[PersonInput(name_hangul="최은정", name_romanized="Choe Un-jong")],
    ).cases.get()
    lost = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.STAFF,
        account="Alone.",
        people=[
            PersonInput(name_hangul="류경애", name_romanized="Ryu Kyong-ae", origin_region="Hyesan")
        ],
    ).cases.get()
    for case, side in ((detained, State.DETAINED), (lost, State.LOST_CONTACT)):
        for state in (State.VERIFYING, State.ACCEPTED, State.REFERRED, State.LEFT_WORKPLACE):
            case.refresh_from_db()
            journey_advance(
                ctx=ctx,
                actor=alice,
                case=case,
                to_state=state,
                expected_version=case.version,
                country="CN",
            )
        case.refresh_from_db()
        journey_advance(
            ctx=ctx,
            actor=alice,
            case=case,
            to_state=side,
            expected_version=case.version,
            country="LA",
        )
    magnolia = cover_set(
        ctx=ctx,
        actor=alice,
        case=detained,
        label="Case M",
        fields={"name": cover(en="Ms Magnolia"), "now": cover(en="Vientiane")},
    )
    willow = cover_set(
        ctx=ctx, actor=alice, case=lost, label="Case W", fields={"name": cover(en="Mr Willow")}
    )
    arrived = make_group(
        ctx,
        alice,
        people=[
            PersonInput(
                name_hangul="정수연", name_romanized="Jong Su-yon", origin_region="Hamhung"
            ),
            PersonInput(name_hangul="한미래", name_romanized="Han Mi-rae", origin_region="Hamhung"),
        ],
        group_label="Late pair",
    )
    advance(ctx, alice, arrived, TO_THAILAND)
    arrive(ctx, alice, arrived)
    safe = cover_set(
        ctx=ctx,
        actor=alice,
        group=arrived,
        label="Safe pair",
        fields={"origin": cover(en="Shanghai")},
    )
    released = statement_create(
        ctx=press,
        actor=heidi,
        title="Arrived",
        texts={"en": "From [[A.origin]]."},
        subjects={"A": str(safe.pk)},
    )
    statement_submit(ctx=press, actor=heidi, statement=released, expected_version=1)
    statement_approve(ctx=ctx, actor=alice, statement=released, expected_version=2)
    statement_release(ctx=press, actor=heidi, statement=released, expected_version=3)
    drafts = []
    for handle_cover, text in (
        (lotus, "[[A.count]] [[A.occupation]] from [[A.origin]]: [[A.name]]."),
        (magnolia, "She is held in [[A.now]]."),
        (willow, "[[A.name]] is missing."),
    ):
        draft = statement_create(
            ctx=press,
            actor=heidi,
            title="Draft",
            texts={"en": text},
            subjects={"A": str(handle_cover.pk)},
        )
        statement_submit(ctx=press, actor=heidi, statement=draft, expected_version=1)
        with pytest.raises(StatementBlockedError):
            draft.refresh_from_db()
            statement_approve(ctx=ctx, actor=alice, statement=draft, expected_version=draft.version)
        drafts.append(draft)
    return {"released": released, "drafts": drafts, "lotus": lotus}


def _ids() -> dict[str, list[Any]]:
    return {
        "case": list(Case.objects.values_list("pk", flat=True)),
        "request": list(Request.objects.values_list("pk", flat=True)),
        "group": list(Group.objects.values_list("pk", flat=True)),
        "statement": list(Statement.objects.values_list("pk", flat=True)),
        "cover": list(Cover.objects.values_list("pk", flat=True)),
    }


def _urls(route: str, name: str, ids: dict[str, list[Any]]) -> list[str]:
    from tests.test_access_matrix import API_KIND, KIND_OF_KWARG

    kwargs = re.findall(r"<\w+:(\w+)>", route)
    if not kwargs:
        return [reverse(name)]
    if "action" in kwargs:
        return []  # POST only: walked below
    # A format in the path (an export's .csv) is filled in; what is left names a record.
    fixed = {k: "csv" for k in kwargs if f"<slug:{k}>" in route}
    ids_in_path = [k for k in kwargs if k not in fixed]
    if not ids_in_path:
        return [reverse(name, kwargs=fixed)]
    (kwarg,) = ids_in_path
    kind = KIND_OF_KWARG.get(kwarg) or API_KIND.get(route.split("/")[1])
    # An id nobody has, of the route's type (staff accounts have numbers, records UUIDs).
    unknown: Any = 2**31 - 1 if f"<int:{kwarg}>" in route else uuid.uuid4()
    found = ids.get(kind or "", []) + [unknown]
    return [reverse(name, kwargs={kwarg: pk, **fixed}) for pk in found]


def test_the_press_officer_learns_nothing_of_anyone_not_yet_safe_on_any_route(world, heidi) -> None:
    from tests.test_access_matrix import OPERATIONS, ROUTES

    web = Client()
    login(web, heidi)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=heidi, password=PASSWORD)}")
    ids = _ids()
    problems: list[str] = []
    walked = seen = 0
    api_names = {name for name, _m, _v in OPERATIONS}
    for name, route in sorted((n, r.route) for n, r in ROUTES.items()):
        if name.startswith("portal:") or name in ("web:logout", "set_language"):
            continue
        if name in ("api-schema", "api-docs"):
            # The API's description: state names as enum values and example names, the same
            # for every caller and whatever the database holds.
            continue
        client = api if name in api_names else web
        for url in _urls(route, name, ids):
            answer = client.get(url)
            walked += 1
            seen += answer.status_code == 200
            if answer.get("Content-Type", "").startswith("application/pdf"):
                continue
            leaked = _forbidden_in(answer.content.decode("utf-8", "replace"))
            if leaked:
                problems.append(f"GET {url} ({answer.status_code}): {leaked}")
    # The steps the press officer can take, on every statement, on the web and the API.
    for pk in ids["statement"]:
        version = Statement.objects.get(pk=pk).version
        for step in ("submit", "release"):
            for client, url in (
                (web, reverse("web:statement_action", args=[pk, step])),
                (api, f"/api/statements/{pk}/{step}/"),
            ):
                answer = (
                    client.post(url, {"version": version}, format="json")
                    if client is api
                    else client.post(url, {"version": version}, follow=True)
                )
                walked += 1
                leaked = _forbidden_in(answer.content.decode("utf-8", "replace"))
                if leaked:
                    problems.append(f"POST {url} ({answer.status_code}): {leaked}")
    # Drafting about the group not yet safe shows the label, never its values.
    answer = api.post(
        "/api/statements/",
        {
            "title": "New",
            "texts": {"en": "[[A.origin]] [[A.count]]"},
            "subjects": {"A": str(world["lotus"].pk)},
        },
        format="json",
    )
    walked += 1
    assert answer.status_code == 201
    assert "Lotus" in answer.content.decode()
    leaked = _forbidden_in(answer.content.decode())
    if leaked:
        problems.append(f"POST /api/statements/: {leaked}")
    # It really saw the pages: every statement, every cover record, the lists (web and API).
    assert walked > 100 and seen >= 2 * (len(ids["statement"]) + len(ids["cover"])) + 4
    assert not problems, "\n".join(problems)


def test_the_walk_would_notice_a_leak(world, alice) -> None:
    """The same canaries on a supervisor's page of the group not yet safe are found: the walk
    looks in the right place."""
    client = Client()
    login(client, alice)
    page = client.get(f"/covers/{world['lotus'].pk}/")
    assert _forbidden_in(page.content.decode()) == [
        "Qingdao",
        "Harbour group",
        "twenty-one",
        "glassblowers",
    ]
    case = Case.objects.filter(group=world["lotus"].group).order_by("pk").first()
    assert "Awaiting flight" in _forbidden_in(client.get(f"/cases/{case.pk}/").content.decode())
