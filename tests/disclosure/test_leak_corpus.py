"""The leak check against its corpus (tests/disclosure/corpus.py): every planted true value is
caught, by a supervisor's check (true values and the blind index) and, for the true values, by
the press office's check from fingerprints; no innocent statement is blocked by either."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from haven.brokers.services import broker_create
from haven.cases.journey import State
from haven.cases.models import Case, Channel
from haven.cases.services import PersonInput, journey_advance, person_update, request_create
from haven.disclosure import leakcheck
from haven.disclosure.services import cover_set
from tests.disclosure.corpus import FRAME, INNOCENT, PLANTED
from tests.disclosure.helpers import THREE, advance, group_fields

pytestmark = pytest.mark.django_db

RESULTS: dict[str, Any] = {}


class _Summary:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if RESULTS:
            terminalreporter.write_line(
                "leak check corpus: {planted} planted values, {caught} caught by a supervisor's "
                "check, {caught_fp} of the {fp_total} true values caught from fingerprints; "
                "{innocent} innocent statements, {blocked} wrongly blocked".format(**RESULTS)
            )


@pytest.fixture(autouse=True)
def _summary(pytestconfig: pytest.Config) -> None:
    if not pytestconfig.pluginmanager.has_plugin("haven-leak-corpus-summary"):
        pytestconfig.pluginmanager.register(_Summary(), "haven-leak-corpus-summary")


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(ctx, alice):
    broker = broker_create(ctx=ctx, actor=alice, alias="Mr Jang", contact="+86 138 0013 8000")
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.BROKER,
        broker=broker,
        account="Three of us want to leave.",
        people=list(THREE),
        group_label="Taiyuan restaurant three",
        received_at=_at(2016, 3, 1),
    )
    group = request.cases.first().group
    first = Case.objects.get(group=group, person__in=[c.person for c in request.cases.all()][:1])
    person_update(
        ctx=ctx,
        actor=alice,
        case=first,
        expected_version=first.person.version,
        person=THREE[0],
        family=[
            {"relation": "mother", "name": "리춘화"},
            {"relation": "mother", "name": "Ri Chun-hwa"},
        ],
    )
    steps = [
        (State.VERIFYING, "CN", "", _at(2016, 3, 10)),
        (State.ACCEPTED, "CN", "", _at(2016, 3, 20)),
        (State.REFERRED, "CN", "", _at(2016, 3, 25)),
        (State.LEFT_WORKPLACE, "CN", "Taiyuan", _at(2016, 4, 5)),
        (State.IN_TRANSIT, "LA", "Luang Namtha", _at(2016, 4, 6)),
        (State.IN_THIRD_COUNTRY, "TH", "Chiang Rai", _at(2016, 4, 6)),
    ]
    from haven.cases.services import group_advance

    for state, country, region, at in steps:
        members = list(Case.objects.filter(group=group))
        group_advance(
            ctx=ctx,
            actor=alice,
            group=group,
            case_versions={c.pk: c.version for c in members},
            to_state=state,
            country=country,
            region=region,
            occurred_at=at,
        )
    for case in Case.objects.filter(group=group):
        journey_advance(
            ctx=ctx,
            actor=alice,
            case=case,
            to_state=State.AWAITING_FLIGHT,
            expected_version=case.version,
            country="TH",
            place="Room 12, Baan Suan guesthouse, Chiang Khong",
            occurred_at=_at(2016, 4, 6),
        )
    advance(ctx, alice, group, [(State.ARRIVED, "KR", "")])
    # Elsewhere in the organisation: one still waiting, one long safe.
    waiting = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.STAFF,
        account="Alone.",
        people=[PersonInput(name_hangul="최은정", name_romanized="Choe Un-jong")],
    ).cases.get()
    for target in (State.VERIFYING, State.ACCEPTED):
        waiting.refresh_from_db()
        journey_advance(
            ctx=ctx, actor=alice, case=waiting, to_state=target, expected_version=waiting.version
        )
    dong = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.STAFF,
        account="Alone.",
        people=[PersonInput(name_hangul="이동", name_romanized="Ri Dong")],
    ).cases.get()
    assert dong.state == State.RECEIVED
    safe = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.STAFF,
        account="Arrived long ago.",
        people=[PersonInput(name_hangul="류경애", name_romanized="Ryu Kyong-ae")],
    ).cases.get()
    for target in (
        State.VERIFYING,
        State.ACCEPTED,
        State.REFERRED,
        State.LEFT_WORKPLACE,
        State.ARRIVED,
    ):
        safe.refresh_from_db()
        journey_advance(
            ctx=ctx, actor=alice, case=safe, to_state=target, expected_version=safe.version
        )
    cover = cover_set(
        ctx=ctx, actor=alice, group=group, label="Spring group", fields=group_fields(arrived=True)
    )
    return {
        "group": group,
        "cover": cover,
        "cases": [str(c.pk) for c in Case.objects.filter(group=group)],
    }


def _checks(ctx, world):
    from haven.disclosure.models import LeakPrint
    from haven.vault.sealed import payload_read

    cover = payload_read(ctx=ctx, record=world["cover"])
    published = leakcheck.published_forms([cover])
    truths = leakcheck.truths_read(ctx=ctx, case_ids=world["cases"])
    targets = leakcheck.targets_build(truths, published=published)
    prints = {
        str(p.case_id): payload_read(ctx=ctx, record=p)
        for p in LeakPrint.objects.filter(case_id__in=world["cases"])
    }

    def supervisor(texts):
        return leakcheck.truth_hits(texts, targets) + leakcheck.index_hits(
            ctx=ctx, texts=texts, in_scope=world["cases"]
        )

    def press(texts):
        return leakcheck.fingerprint_hits(texts, prints, published=published)

    return supervisor, press


def test_every_planted_value_is_caught_and_no_innocent_statement_is_blocked(ctx, world) -> None:
    supervisor, press = _checks(ctx, world)
    missed, missed_fp, wrong = [], [], []
    fp_total = 0
    for language, planted, expected in PLANTED:
        texts = {language: FRAME[language].format(planted)}
        fields = {hit.field for hit in supervisor(texts)}
        if expected not in fields:
            missed.append((planted, expected, fields))
        if not expected.startswith("index-"):
            fp_total += 1
            if expected not in {hit.field for hit in press(texts)}:
                missed_fp.append((planted, expected))
    for language, text in INNOCENT:
        hits = supervisor({language: text}) + press({language: text})
        if hits:
            wrong.append((text, [(h.field, h.phrase) for h in hits]))
    RESULTS.update(
        planted=len(PLANTED),
        caught=len(PLANTED) - len(missed),
        fp_total=fp_total,
        caught_fp=fp_total - len(missed_fp),
        innocent=len(INNOCENT),
        blocked=len(wrong),
    )
    assert not missed, missed
    assert not missed_fp, missed_fp
    assert not wrong, wrong


def test_the_frame_itself_is_innocent(ctx, world) -> None:
    supervisor, press = _checks(ctx, world)
    for language, frame in FRAME.items():
        texts = {language: frame.format("")}
        assert supervisor(texts) == [] and press(texts) == []
