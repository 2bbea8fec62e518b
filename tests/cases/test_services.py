from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from haven.cases.journey import State, TransitionError
from haven.cases.models import (
    Case,
    Channel,
    Group,
    JourneyEvent,
    Note,
    Person,
    Request,
    RequestStatus,
    Source,
    Urgency,
)
from haven.cases.services import (
    PersonInput,
    case_update,
    group_advance,
    journey_advance,
    note_add,
    person_payload,
    request_create,
    request_people_create,
    request_triage,
)
from haven.errors import ConflictError
from haven.vault.holders import case_holders
from haven.vault.models import DataKey
from haven.vault.sealed import data_keys_create, payload_read
from tests.factories import ctx_for, make_broker, make_case, make_request


def _counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (Request, Case, Person, Group, JourneyEvent, Note, DataKey)
    )


@pytest.mark.django_db
def test_request_for_a_group_opens_one_case_per_person_in_one_group(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=3, channel="broker")

    cases = list(Case.objects.filter(request=request))
    assert len(cases) == 3
    assert len({c.group_id for c in cases}) == 1 and cases[0].group_id is not None
    assert all(c.state == State.RECEIVED for c in cases)
    assert JourneyEvent.objects.filter(case__in=cases, to_state=State.RECEIVED).count() == 3


@pytest.mark.django_db
def test_request_account_and_names_are_stored_only_encrypted(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, account="MARKER-ACCOUNT 평양에서 왔습니다")

    raw = bytes(Request.objects.get(pk=request.pk).payload)
    assert b"MARKER-ACCOUNT" not in raw and "평양".encode() not in raw
    assert payload_read(ctx=ctx, record=request)["account"].startswith("MARKER-ACCOUNT")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"account": ""}, "account"),
        ({"account": "x" * 20_001}, "account"),
        ({"account": "nul \x00 byte"}, "account"),
        ({"channel": "carrier pigeon"}, "channel"),
        ({"urgency": "very"}, "urgency"),
        ({"urgency": 9}, "urgency"),
        ({"country": "Shanxi"}, "country"),
        ({"received_at": timezone.now() + dt.timedelta(days=2)}, "received_at"),
        ({"people": []}, "people"),
        ({"people": [PersonInput()] * 10_000}, "people"),
        (
            {"people": [PersonInput(name_hangul="김", birth_value="2999", birth_precision="year")]},
            "people[0].birth_value",
        ),
        ({"people": [PersonInput(name_hangul="김", sex="robot")]}, "people[0].sex"),
        ({"people": [PersonInput()]}, "people[0].name"),
        ({"people": [PersonInput(name_hangul="김" * 201)]}, "people[0].name_hangul"),
        ({"channel": "broker"}, "broker"),
    ],
)
def test_bad_request_input_gets_a_clear_error_and_stores_nothing(ctx, alice, changes, field):
    arguments = {
        "channel": "direct_line",
        "account": "Help us",
        "people": [PersonInput(name_hangul="김선희")],
        **changes,
    }
    before = _counts()

    with pytest.raises(ValidationError) as excinfo:
        request_create(ctx=ctx, actor=alice, **arguments)

    assert field in excinfo.value.message_dict
    assert _counts() == before


@pytest.mark.django_db
def test_hostile_text_is_stored_as_given(ctx, alice):
    hostile = '<script>alert(1)</script>\'; DROP TABLE cases_case; -- =HYPERLINK("http://x")'
    request = make_request(ctx=ctx, actor=alice, account=hostile)

    assert payload_read(ctx=ctx, record=request)["account"] == hostile
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_suspended_broker_cannot_bring_new_requests(ctx, alice):
    from haven.brokers.services import broker_set_status

    broker = make_broker(ctx=ctx, actor=alice)
    broker_set_status(
        ctx=ctx, actor=alice, broker=broker, expected_version=broker.version, status="suspended"
    )

    with pytest.raises(ValidationError, match="suspended"):
        make_request(ctx=ctx, actor=alice, channel="broker", broker=broker)


@pytest.mark.django_db
def test_roles_without_case_work_cannot_record_requests(erin, heidi, grace):
    for user in (erin, heidi, grace):
        with pytest.raises(PermissionDenied):
            make_request(ctx=ctx_for(user), actor=user)


@pytest.mark.django_db
def test_a_stale_version_is_refused_and_the_first_edit_survives(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    stale = case.version
    other_copy = Case.objects.select_related("data_key").get(pk=case.pk)  # read by a second editor
    case_update(ctx=ctx, actor=alice, case=case, expected_version=stale, summary="first editor")

    with pytest.raises(ConflictError):
        case_update(
            ctx=ctx, actor=alice, case=other_copy, expected_version=stale, summary="second editor"
        )

    fresh = Case.objects.select_related("data_key").get(pk=case.pk)
    assert payload_read(ctx=ctx, record=fresh)["summary"] == "first editor"
    assert fresh.version == stale + 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_from_one_version_let_exactly_one_through(alice):
    ctx = ctx_for(alice)
    case = make_case(ctx=ctx, actor=alice)
    start = case.version
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def edit(text: str) -> None:
        try:
            copy = Case.objects.select_related("data_key").get(pk=case.pk)
            barrier.wait()
            case_update(
                ctx=ctx_for(alice),
                actor=alice,
                case=copy,
                expected_version=start,
                summary=text,
            )
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:  # SQLite may report the lock instead; both mean "not written"
            outcomes.append(f"refused:{type(exc).__name__}")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(t,)) for t in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count("ok") == 1, outcomes
    fresh = Case.objects.select_related("data_key").get(pk=case.pk)
    assert fresh.version == start + 1
    assert payload_read(ctx=ctx, record=fresh)["summary"] in ("one", "two")


@pytest.mark.django_db
def test_group_move_is_all_or_none(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=3)
    first, second, third = Case.objects.filter(request=request).order_by("id")
    journey_advance(
        ctx=ctx, actor=alice, case=first, to_state=State.VERIFYING, expected_version=first.version
    )
    group = Group.objects.get(pk=first.group_id)
    # first is at verifying, the others at received: "accepted" is allowed for first only.
    before = {c.pk: (c.state, c.version) for c in Case.objects.filter(group=group)}

    with pytest.raises(TransitionError, match="no member was moved"):
        group_advance(
            ctx=ctx,
            actor=alice,
            group=group,
            case_versions={c.pk: c.version for c in [first, second, third]},
            to_state=State.ACCEPTED,
        )

    assert {c.pk: (c.state, c.version) for c in Case.objects.filter(group=group)} == before


@pytest.mark.django_db
def test_group_moves_chosen_members_together_and_leaves_the_rest(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=3)
    cases = list(Case.objects.filter(request=request).order_by("id"))
    group = Group.objects.get(pk=cases[0].group_id)

    events = group_advance(
        ctx=ctx,
        actor=alice,
        group=group,
        case_versions={c.pk: c.version for c in cases[:2]},
        to_state=State.VERIFYING,
    )

    assert len(events) == 2
    states = dict(Case.objects.filter(group=group).values_list("id", "state"))
    assert [states[c.pk] for c in cases] == [State.VERIFYING, State.VERIFYING, State.RECEIVED]


@pytest.mark.django_db
def test_group_move_refuses_cases_from_outside_the_group(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=2)
    outsider = make_case(ctx=ctx, actor=alice)
    group = Group.objects.get(request=request)

    with pytest.raises(ValidationError, match="member"):
        group_advance(
            ctx=ctx,
            actor=alice,
            group=group,
            case_versions={c.pk: c.version for c in [outsider]},
            to_state=State.VERIFYING,
        )
    assert Case.objects.get(pk=outsider.pk).state == State.RECEIVED


@pytest.mark.django_db
def test_lost_contact_returns_to_where_it_left(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    for target in (
        State.VERIFYING,
        State.ACCEPTED,
        State.REFERRED,
        State.LEFT_WORKPLACE,
        State.IN_TRANSIT,
        State.LOST_CONTACT,
    ):
        journey_advance(
            ctx=ctx, actor=alice, case=case, to_state=target, expected_version=case.version
        )
    assert case.returns_to == State.IN_TRANSIT

    journey_advance(
        ctx=ctx, actor=alice, case=case, to_state=State.IN_TRANSIT, expected_version=case.version
    )

    case.refresh_from_db()
    assert case.state == State.IN_TRANSIT and case.returns_to == ""


@pytest.mark.django_db
def test_event_keeps_coarse_country_plain_and_exact_place_encrypted(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    event = journey_advance(
        ctx=ctx,
        actor=alice,
        case=case,
        to_state=State.VERIFYING,
        expected_version=case.version,
        country="th",
        region="Chiang Rai",
        place="Safe house behind the market",
        source="broker",
        confidence="likely",
    )

    assert event.country == "TH"
    assert b"Chiang" not in bytes(event.payload) and b"Safe house" not in bytes(event.payload)
    assert payload_read(ctx=ctx, record=event)["place"] == "Safe house behind the market"
    assert (
        payload_read(ctx=ctx, record=Case.objects.select_related("data_key").get(pk=case.pk))[
            "exact_place"
        ]
        == "Safe house behind the market"
    )


@pytest.mark.django_db
def test_events_cannot_be_dated_in_the_future(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    with pytest.raises(ValidationError, match="future"):
        journey_advance(
            ctx=ctx,
            actor=alice,
            case=case,
            to_state=State.VERIFYING,
            expected_version=case.version,
            occurred_at=timezone.now() + dt.timedelta(hours=3),
        )
    assert Case.objects.get(pk=case.pk).state == State.RECEIVED


@pytest.mark.django_db
def test_caseworker_cannot_touch_another_teams_case(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    with pytest.raises(PermissionDenied):
        note_add(ctx=ctx_for(carol), actor=carol, case=case, text="snooping")
    assert Note.objects.count() == 0
    note_add(ctx=ctx_for(bob), actor=bob, case=case, text="called her")
    assert Note.objects.count() == 1


@pytest.mark.django_db
def test_only_supervisors_assign_cases_to_someone_else(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    with pytest.raises(PermissionDenied):
        case_update(
            ctx=ctx_for(bob),
            actor=bob,
            case=case,
            expected_version=case.version,
            owner=carol,
        )

    case_update(ctx=ctx, actor=alice, case=case, expected_version=case.version, owner=carol)
    case.refresh_from_db()
    assert case.owner == carol and case.team == carol.team


@pytest.mark.django_db
def test_declining_a_request_declines_the_cases_it_opened(ctx, alice):
    request = make_request(ctx=ctx, actor=alice, people=2)

    request_triage(
        ctx=ctx,
        actor=alice,
        request=request,
        expected_version=request.version,
        status=RequestStatus.DECLINED,
    )

    assert set(Case.objects.filter(request=request).values_list("state", flat=True)) == {
        State.DECLINED
    }
    assert Request.objects.get(pk=request.pk).status == RequestStatus.DECLINED


@pytest.mark.django_db
def test_a_duplicate_must_name_the_earlier_request(ctx, alice):
    first = make_request(ctx=ctx, actor=alice)
    second = make_request(ctx=ctx, actor=alice)
    with pytest.raises(ValidationError):
        request_triage(
            ctx=ctx,
            actor=alice,
            request=second,
            expected_version=second.version,
            status=RequestStatus.DUPLICATE,
        )

    request_triage(
        ctx=ctx,
        actor=alice,
        request=second,
        expected_version=second.version,
        status=RequestStatus.DUPLICATE,
        duplicate_of=first,
    )
    assert Case.objects.get(request=second).state == State.DUPLICATE


@pytest.mark.django_db
def test_lone_surrogates_are_refused_not_crashed_on(ctx, alice):
    before = _counts()
    with pytest.raises(ValidationError, match="broken characters"):
        make_request(ctx=ctx, actor=alice, account="half a character \ud800")
    assert _counts() == before


@pytest.mark.django_db
def test_a_caseworker_owns_the_cases_they_record_and_cannot_hand_them_to_others(bob, carol):
    bctx = ctx_for(bob)
    request = make_request(ctx=bctx, actor=bob, people=2)
    assert set(Case.objects.filter(request=request).values_list("owner", flat=True)) == {bob.pk}

    before = _counts()
    with pytest.raises(PermissionDenied):
        make_request(ctx=bctx, actor=bob, owner=carol)
    assert _counts() == before


@pytest.mark.django_db
def test_a_step_dated_before_the_previous_one_is_refused(ctx, alice):
    case = make_case(ctx=ctx, actor=alice, received_at=timezone.now() - dt.timedelta(days=2))
    journey_advance(
        ctx=ctx,
        actor=alice,
        case=case,
        to_state=State.VERIFYING,
        expected_version=case.version,
        occurred_at=timezone.now() - dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError, match="before the case's last recorded step"):
        journey_advance(
            ctx=ctx,
            actor=alice,
            case=case,
            to_state=State.ACCEPTED,
            expected_version=case.version,
            occurred_at=timezone.now() - dt.timedelta(days=3),
        )
    assert Case.objects.get(pk=case.pk).state == State.VERIFYING


@pytest.mark.django_db
def test_a_request_s_people_refuse_keys_that_do_not_fit_them_and_store_nothing(ctx, alice) -> None:
    request = make_request(ctx=ctx, actor=alice)
    before = (Person.objects.count(), Case.objects.count(), Group.objects.count())
    holders = case_holders(actor=alice)
    payloads = [person_payload(PersonInput(name_romanized=n), index=i) for i, n in enumerate("AB")]
    # Two people need a key each and one for their group: two keys are not enough.
    keys = data_keys_create(ctx=ctx, holders=holders, granted_by=alice, count=2)
    with pytest.raises(ValueError, match="one data key per person"):
        request_people_create(
            ctx=ctx,
            request=request,
            holders=holders,
            granted_by=alice,
            payloads=payloads,
            own_words=["", ""],
            urgency=Urgency.NORMAL,
            country="CN",
            source=Source.REQUESTER,
            received=timezone.now(),
            data_keys=keys,
        )
    assert (Person.objects.count(), Case.objects.count(), Group.objects.count()) == before


@pytest.mark.django_db
def test_a_request_for_several_people_makes_a_group_and_a_case_with_its_first_event_each(
    ctx, alice
) -> None:
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.DIRECT_LINE,
        people=[PersonInput(name_romanized=n) for n in ("Kim", "Ri", "Pak")],
        account="three of us",
    )
    cases = list(Case.objects.filter(request=request))
    assert len(cases) == 3 and len({c.group_id for c in cases}) == 1 and cases[0].group_id
    assert len({c.data_key_id for c in cases}) == 3  # each person under a key of their own
    assert JourneyEvent.objects.filter(case__in=cases, to_state=State.RECEIVED).count() == 3
    names = {payload_read(ctx=ctx, record=c.person)["name_romanized"] for c in cases}
    assert names == {"Kim", "Ri", "Pak"}


# -- family links -------------------------------------------------------------------------------


def _with_family(ctx, actor, case, family):
    from haven.cases.services import person_update

    return person_update(
        ctx=ctx,
        actor=actor,
        case=case,
        expected_version=case.person.version,
        person=PersonInput(name_hangul="박정민"),
        family=family,
    )


@pytest.mark.django_db
def test_a_family_link_names_a_case_the_recorder_can_open(ctx, alice, bob):
    sister = make_case(ctx=ctx, actor=alice, owner=bob)
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    person = _with_family(
        ctx_for(bob),
        bob,
        case,
        [{"relation": "sister", "name": "", "case_id": str(sister.pk).upper()}],
    )

    family = payload_read(ctx=ctx, record=person)["family"]
    assert family == [{"relation": "sister", "name": "", "case_id": str(sister.pk)}]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case_id",
    ["not-a-uuid", "00000000-0000-4000-8000-000000000000", "carol's", "self"],
)
def test_a_family_link_to_anything_else_is_refused_and_nothing_stored(
    ctx, alice, bob, carol, case_id
):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    carols = make_case(ctx=ctx, actor=alice, owner=carol)  # bob cannot open it
    case_id = {"carol's": str(carols.pk), "self": str(case.pk)}.get(case_id, case_id)
    version = case.person.version

    with pytest.raises(ValidationError) as raised:
        _with_family(ctx_for(bob), bob, case, [{"relation": "brother", "case_id": case_id}])

    assert "family[0].case_id" in raised.value.message_dict
    case.person.refresh_from_db()
    assert case.person.version == version


def test_an_occupation_is_kept_as_written_and_the_old_codes_stay_valid() -> None:
    written = person_payload(PersonInput(name_hangul="김선희", occupation="  식당  복무원 "))
    assert written["occupation"] == "식당 복무원"  # cleaned like other text, not re-coded
    assert (
        person_payload(PersonInput(name_hangul="김선희", occupation="restaurant_worker"))[
            "occupation"
        ]
        == "restaurant_worker"
    )
    assert person_payload(PersonInput(name_hangul="김선희"))["occupation"] == ""
    with pytest.raises(ValidationError):
        person_payload(PersonInput(name_hangul="김선희", occupation="x" * 201))


def test_a_birth_calendar_is_kept_with_a_known_date_only() -> None:
    lunar = person_payload(
        PersonInput(
            name_hangul="김선희",
            birth_value="1980-03-05",
            birth_precision="day",
            birth_calendar="lunar",
        )
    )
    assert lunar["birth"] == {"value": "1980-03-05", "precision": "day", "calendar": "lunar"}
    unsaid = person_payload(
        PersonInput(name_hangul="김선희", birth_value="1980", birth_precision="year")
    )
    assert "calendar" not in unsaid["birth"]
    no_date = person_payload(PersonInput(name_hangul="김선희", birth_calendar="lunar"))
    assert no_date["birth"] == {"value": "", "precision": "unknown"}
    with pytest.raises(ValidationError):
        person_payload(PersonInput(name_hangul="김선희", birth_calendar="martian"))
