"""Finding a person's case by name through the blind index, within need to know."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from haven.audit.models import AuditEntry
from haven.audit.pseudonyms import audit_id
from haven.cases.models import Case
from haven.cases.search import person_search
from haven.cases.selectors import case_list
from haven.cases.services import PersonInput, person_update, request_create
from tests.factories import ctx_for

pytestmark = pytest.mark.django_db


def _case(ctx, actor, owner=None, **person) -> Case:
    request = request_create(
        ctx=ctx,
        actor=actor,
        channel="direct_line",
        account="Please help.",
        people=[PersonInput(**person)],
        owner=owner,
    )
    return request.cases.get()


def _found(user, query, **kwargs) -> set[Case]:
    return set(person_search(ctx=ctx_for(user), user=user, query=query, **kwargs))


@pytest.mark.parametrize(
    "query", ["김선희", "Kim Sun-hui", "Gim Seon-hui", "kim sunhee", "Sun-hui Kim", " 김 선희 "]
)
def test_a_person_is_found_by_their_name_in_hangul_or_any_romanization(ctx, alice, query):
    case = _case(ctx, alice, name_hangul="김선희")
    _case(ctx, alice, name_hangul="박정민")

    assert _found(alice, query) == {case}


def test_a_person_is_found_by_an_alias_and_by_a_non_korean_name(ctx, alice):
    case = _case(ctx, alice, name_romanized="Maria Lopez", aliases=["Sunny", "Auntie Ri"])

    assert _found(alice, "maria LOPEZ") == {case}
    assert _found(alice, "sunny") == {case}
    assert _found(alice, "Auntie Ri") == {case}


def test_an_unrelated_name_finds_nobody(ctx, alice):
    _case(ctx, alice, name_hangul="김순희", name_romanized="Kim Sun-hui")

    assert _found(alice, "Pak Jong-min") == set()
    assert _found(alice, "Ri Yong-ho") == set()
    assert _found(alice, "Kim") == set()  # whole names only, never a part of one


def test_a_caseworker_cannot_find_a_case_they_cannot_see(ctx, alice, bob, carol):
    bobs = _case(ctx, alice, owner=bob, name_hangul="김선희")

    assert _found(bob, "Kim Sun-hui") == {bobs}
    assert _found(carol, "Kim Sun-hui") == set()


def test_an_administrator_is_refused_clearly(ctx, alice, erin):
    _case(ctx, alice, name_hangul="김선희")

    with pytest.raises(PermissionDenied, match="cannot see cases"):
        person_search(ctx=ctx_for(erin), user=erin, query="김선희")


def test_someone_without_the_staff_key_is_told_to_ask_for_it(ctx, alice, bob):
    from haven.crypto import KeyContext

    _case(ctx, alice, owner=bob, name_hangul="김선희")

    with pytest.raises(PermissionDenied, match="all-staff key"):
        person_search(ctx=KeyContext(actor_id=bob.pk), user=bob, query="김선희")


def test_a_new_name_replaces_the_old_one_in_the_index(ctx, alice):
    case = _case(ctx, alice, name_hangul="김선희", aliases=["Sunny"])

    person_update(
        ctx=ctx,
        actor=alice,
        case=case,
        expected_version=case.person.version,
        person=PersonInput(name_hangul="리영호"),
    )

    assert _found(alice, "Ri Yong-ho") == {case}
    assert _found(alice, "Kim Sun-hui") == set()
    assert _found(alice, "Sunny") == set()


def test_search_narrows_a_filtered_case_list(ctx, alice, bob):
    mine = _case(ctx, alice, owner=bob, name_hangul="김선희")
    _case(ctx, alice, name_hangul="김선희")  # the same name, not bob's

    assert _found(alice, "김선희") == set(Case.objects.all())
    assert _found(alice, "김선희", cases=case_list(user=alice, owner_id=bob.pk)) == {mine}


@pytest.mark.parametrize("query", ["", "   ", "!!!", "\u200b", "-"])
def test_a_query_with_nothing_to_match_finds_nothing(ctx, alice, query):
    _case(ctx, alice, name_hangul="김선희")

    assert _found(alice, query) == set()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("김" * 10_000, "at most 200"),
        ("Kim\x00Sun", "control characters"),
        ("Kim\x1b[2J", "control"),
    ],
)
def test_hostile_queries_are_a_clear_validation_error(ctx, alice, query, message):
    with pytest.raises(ValidationError, match=message) as error:
        person_search(ctx=ctx_for(alice), user=alice, query=query)
    assert "q" in error.value.message_dict


def test_a_search_is_audited_without_what_was_searched(ctx, alice):
    _case(ctx, alice, name_hangul="김선희")

    list(person_search(ctx=ctx_for(alice), user=alice, query="Kim Sun-hui"))

    entry = AuditEntry.objects.filter(action="case.search").get()
    assert entry.actor == alice
    assert "Kim" not in str(entry.detail) and "선희" not in str(entry.detail)


@pytest.mark.django_db(transaction=True)
def test_two_searches_catching_up_the_same_record_index_it_once(alice, monkeypatch):
    """Two staff search at the same moment and both find a record waiting for its tokens: the
    first indexes it while the second waits or passes it by; neither fails (on PostgreSQL the
    second wrote the same tokens and broke their unique index: an error page)."""
    import threading

    from django.db import connection

    from haven.cases import search
    from haven.crypto import KeyContext
    from haven.vault.models import SearchIndexPending, SearchToken

    full = ctx_for(alice)
    without_index_key = KeyContext(actor_id=alice.pk)
    for ref in full.holder_refs():
        without_index_key.add_holder(ref, full._holder(ref))
    request = request_create(
        ctx=without_index_key,
        actor=alice,
        channel="direct_line",
        account="Help.",
        people=[PersonInput(name_hangul="김선희")],
    )
    key_id = request.cases.get().data_key_id
    assert SearchIndexPending.objects.filter(data_key_id=key_id).exists()

    first_inside = threading.Event()
    second_done = threading.Event()
    real = search.search_tokens_set
    first_thread: list[int] = []

    def slow_for_the_first(**kwargs):
        if threading.get_ident() in first_thread:
            first_inside.set()
            second_done.wait(timeout=3)  # SQLite: the second waits for our lock instead
        return real(**kwargs)

    monkeypatch.setattr(search, "search_tokens_set", slow_for_the_first)
    outcome: dict[str, object] = {}

    def first() -> None:
        first_thread.append(threading.get_ident())
        try:
            outcome["first"] = search.search_index_refresh(ctx=ctx_for(alice), actor=alice)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["first"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_inside.wait(timeout=10)
    try:
        outcome["second"] = search.search_index_refresh(ctx=ctx_for(alice), actor=alice)
    except Exception as exc:  # noqa: BLE001
        outcome["second"] = exc
    second_done.set()
    thread.join(timeout=20)

    assert sorted([outcome["first"], outcome["second"]], key=str) == [0, 1], outcome
    assert not SearchIndexPending.objects.exists()
    tokens = list(SearchToken.objects.filter(data_key_id=key_id).values_list("purpose", "token"))
    assert tokens and len(tokens) == len(set(tokens))


def test_the_search_page_finds_people_groups_and_brokers_with_one_audit_entry(ctx, alice):
    from haven.cases.search import search_everything
    from tests.factories import make_broker

    broker = make_broker(ctx=ctx, actor=alice, alias="Mr Kim Sun-hui's cousin")
    case = _case(ctx, alice, name_hangul="김선희")
    before = AuditEntry.objects.count()

    found = search_everything(ctx=ctx_for(alice), user=alice, query="Kim Sun-hui", shown=50)

    assert [(row.case, row.name) for row in found.people] == [(case, "김선희")]
    assert found.groups == [] and found.brokers == [(broker, "Mr Kim Sun-hui's cousin")]
    # One entry for the search and for what it showed (no case.list entry beside it).
    new = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))
    shown = {"cases": [audit_id(case.pk)], "groups": [], "brokers": [audit_id(broker.pk)]}
    assert [(e.action, e.detail) for e in new] == [("case.search", shown)]
    assert "Kim" not in str(new[0].detail)


def test_the_search_page_shows_at_most_its_page_of_people_and_records_those(ctx, alice):
    from haven.cases.search import search_everything

    cases = [_case(ctx, alice, name_hangul="김선희") for _ in range(3)]
    before = AuditEntry.objects.count()

    found = search_everything(ctx=ctx_for(alice), user=alice, query="김선희", shown=2)

    assert len(found.people) == 2 and {r.case for r in found.people} < set(cases)
    entry = AuditEntry.objects.get(seq__gt=before)
    assert sorted(entry.detail["cases"]) == sorted(audit_id(r.case.pk) for r in found.people)


@pytest.mark.parametrize("query", ["", "  "])
def test_the_search_page_with_nothing_to_search_records_nothing(ctx, alice, query):
    from haven.cases.search import search_everything

    _case(ctx, alice, name_hangul="김선희")
    before = AuditEntry.objects.count()

    found = search_everything(ctx=ctx_for(alice), user=alice, query=query, shown=50)

    assert (found.people, found.groups, found.brokers) == ([], [], [])
    assert AuditEntry.objects.count() == before


def test_the_search_page_refuses_a_role_that_sees_no_cases_and_records_nothing(ctx, alice):
    from haven.cases.search import search_everything
    from tests.factories import UserFactory

    _case(ctx, alice, name_hangul="김선희")
    partner = UserFactory(username="pat", role="press")
    before = AuditEntry.objects.count()

    with pytest.raises(PermissionDenied):
        search_everything(ctx=ctx_for(partner), user=partner, query="김선희", shown=50)
    assert AuditEntry.objects.count() == before


def test_a_search_that_fails_part_way_is_still_recorded(ctx, alice, monkeypatch):
    from haven.cases import search

    _case(ctx, alice, name_hangul="김선희")

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(search, "_matching_brokers", broken)
    before = AuditEntry.objects.count()

    with pytest.raises(RuntimeError):
        search.search_everything(ctx=ctx_for(alice), user=alice, query="김선희", shown=50)
    new = list(AuditEntry.objects.order_by("seq")[before:])
    assert [(e.action, e.detail) for e in new] == [("case.search", {"failed": True})]


def test_the_search_page_records_the_members_of_the_groups_it_shows(ctx, alice):
    from haven.cases.models import Group
    from haven.cases.search import search_everything

    request = request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="Three from Yanji.",
        people=[PersonInput(name_hangul=n) for n in ("김선희", "리영호")],
        group_label="Yanji three",
    )
    group = Group.objects.get(request=request)
    before = AuditEntry.objects.count()

    found = search_everything(ctx=ctx_for(alice), user=alice, query="Yanji", shown=50)

    # The members' names are on the page beside the label: the entry names their cases too.
    assert [row.group for row in found.groups] == [group] and found.people == []
    entry = AuditEntry.objects.get(seq__gt=before)
    members = {audit_id(case.pk) for case in request.cases.all()}
    assert len(members) == 2 and set(entry.detail["cases"]) == members
    assert entry.detail["groups"] == [audit_id(group.pk)]
