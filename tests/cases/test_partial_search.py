"""Finding people, groups and brokers by part of a name (issue 18, item 7), through bucketed
blind-index tokens that are checked against the names themselves."""

from __future__ import annotations

import pytest

from haven.brokers.models import Broker
from haven.cases.models import Case, Group
from haven.cases.search import broker_search, group_search, person_search, search_everything
from haven.cases.services import PersonInput, request_create
from haven.vault import index
from haven.vault.models import SearchToken
from tests.factories import ctx_for, make_broker

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


def _found(user, query) -> set[Case]:
    return set(person_search(ctx=ctx_for(user), user=user, query=query))


def _reads_counted(monkeypatch) -> list[object]:
    """The primary keys of the records a search decrypts, in order."""
    from haven.cases import search

    read: list[object] = []
    real_read = search.payload_read

    def counting_read(*, ctx, record):
        read.append(record.pk)
        return real_read(ctx=ctx, record=record)

    monkeypatch.setattr(search, "payload_read", counting_read)
    return read


@pytest.fixture
def people(ctx, alice):
    return {
        "sunhui": _case(ctx, alice, name_hangul="김선희", name_romanized="Kim Sun-hui"),
        "sunok": _case(ctx, alice, name_hangul="박순옥"),
        "yongho": _case(ctx, alice, name_hangul="리영호", name_romanized="Ri Yong-ho"),
    }


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("Sun-hui", {"sunhui"}),  # the given name alone, in a romanization
        ("선희", {"sunhui"}),
        ("Sun-ok", {"sunok"}),  # a romanization of a name stored only in Hangul
        ("순옥", {"sunok"}),
        ("김순", {"sunhui"}),  # the start of a name: 김 and 선/순, which spelling cannot tell
        ("Yong-ho", {"yongho"}),
        ("박순옥", {"sunok"}),  # the whole name still
    ],
)
def test_part_of_a_name_finds_the_person(alice, people, query, who):
    assert _found(alice, query) == {people[name] for name in who}


@pytest.mark.parametrize("query", ["Kim", "김", "순", "Sun", "Ri", "Pak"])
def test_a_surname_or_one_syllable_alone_finds_nobody(alice, people, query):
    assert _found(alice, query) == set()


def test_a_partial_search_stays_within_need_to_know(ctx, alice, bob, carol):
    theirs = _case(ctx, alice, owner=carol, name_hangul="김선희")
    mine = _case(ctx, bob, name_hangul="최선희")

    assert _found(bob, "선희") == {mine}
    assert _found(carol, "선희") == {theirs}


def test_what_shares_a_bucket_but_not_the_part_is_never_shown(alice, people, monkeypatch):
    """With one bucket every record is a candidate: the check against the names decides."""
    monkeypatch.setattr(index, "PARTIAL_BUCKETS", 1)
    ctx = ctx_for(alice)
    for case in people.values():  # re-index under the single bucket
        from haven.cases.search import person_index_values
        from haven.vault.sealed import payload_read

        index.search_tokens_set(
            ctx=ctx,
            data_key_id=case.data_key_id,
            values=person_index_values(payload_read(ctx=ctx, record=case.person)),
        )

    assert _found(alice, "Sun-ok") == {people["sunok"]}
    assert _found(alice, "Yong-ho") == {people["yongho"]}


def test_the_parts_themselves_are_not_stored_only_their_buckets(alice, people):
    ctx = ctx_for(alice)
    stored = set(SearchToken.objects.values_list("token", flat=True))
    stored = {bytes(token) for token in stored}
    part = ctx.index_token("name", "partial:k:son.hi")
    assert part not in stored  # the hash of a part is never a token
    bucket = index._bucket_form(ctx, "name", "k:son.hi")
    assert ctx.index_token("name", bucket) in stored  # its bucket's is
    # However many parts there are, they fall into at most PARTIAL_BUCKETS tokens per purpose.
    partial_tokens = {
        ctx.index_token(purpose, f"partial:#{n}")
        for purpose in ("name", "alias")
        for n in range(index.PARTIAL_BUCKETS)
    }
    assert {t for t in stored if t in partial_tokens}  # some stored tokens are buckets


def test_a_group_is_found_by_its_label_whole_or_by_a_word(ctx, alice):
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel="broker",
        broker=make_broker(ctx=ctx, actor=alice),
        account="Three from Yanji.",
        people=[PersonInput(name_hangul=n) for n in ("김선희", "리영호", "박정민")],
        group_label="Yanji three",
    )
    group = Group.objects.get(request=request)

    for query in ("Yanji three", "yanji", "Yanj", "three"):
        assert group_search(ctx=ctx_for(alice), user=alice, query=query) == [group], query
    assert group_search(ctx=ctx_for(alice), user=alice, query="Ningbo") == []


@pytest.mark.parametrize("query", ["Yanji three", "yanj", "three", "김선희", "Ningbo"])
def test_the_search_page_finds_the_groups_a_group_search_finds(ctx, alice, query):
    # The page looks up people and groups with one read of name and alias tokens: a person's
    # alias that reads like a label must not bring in their case's group, nor hide another.
    def ask(label: str, aliases: list[str]) -> Group:
        request = request_create(
            ctx=ctx,
            actor=alice,
            channel="direct_line",
            account="Together.",
            people=[
                PersonInput(name_hangul="김선희", aliases=aliases),
                PersonInput(name_hangul="리영호"),
            ],
            group_label=label,
        )
        return Group.objects.get(request=request)

    yanji = ask("Yanji three", [])
    ask("Hunchun pair", ["Yanji three", "Ningbo"])

    page = search_everything(ctx=ctx_for(alice), user=alice, query=query, shown=50)

    expected = group_search(ctx=ctx_for(alice), user=alice, query=query)
    assert [row.group for row in page.groups] == expected
    assert expected == ([yanji] if query in ("Yanji three", "yanj", "three") else [])


def test_a_broker_is_found_by_a_word_of_the_alias_or_the_phone(ctx, alice):
    broker = make_broker(
        ctx=ctx, actor=alice, alias="Mr Jang (Dandong)", contact="+86 138 0013 8000"
    )
    make_broker(ctx=ctx, actor=alice, alias="Auntie Choe")

    for query in ("Jang", "dandong", "Mr Jang (Dandong)", "+86 138-0013-8000"):
        assert broker_search(ctx=ctx_for(alice), user=alice, query=query) == [broker], query
    assert Broker.objects.count() == 2


def test_a_whole_name_search_reads_only_people_holding_every_part_of_it(
    ctx, alice, people, monkeypatch
):
    """Buckets by a part's first syllable (a stand-in for collisions): 김영철 shares the bucket
    of 김선희's whole run but not of 선희, so it is not even a candidate, nor decrypted."""
    monkeypatch.setattr(
        index, "_bucket_form", lambda ctx, purpose, form: "partial:#" + form.split(".")[0]
    )
    from haven.cases import search

    stranger = _case(ctx, alice, name_hangul="김영철")
    half = _case(ctx, alice, name_hangul="박선희")
    for case in [*people.values(), stranger, half]:  # re-index under these buckets
        index.search_tokens_set(
            ctx=ctx_for(alice),
            data_key_id=case.data_key_id,
            values=search.person_index_values(search.payload_read(ctx=ctx, record=case.person)),
        )
    read = _reads_counted(monkeypatch)

    assert _found(alice, "김선희") == {people["sunhui"]}
    assert read == []
    read.clear()
    assert _found(alice, "선희") == {people["sunhui"], half}
    # Found by a part only, they were read to be checked (the reads are counted).
    assert {people["sunhui"].person.pk, half.person.pk} <= set(read)
    assert stranger.person.pk not in read


def test_every_word_of_a_search_must_start_a_word_of_the_label(ctx, alice):
    def group(label: str) -> Group:
        request = request_create(
            ctx=ctx,
            actor=alice,
            channel="direct_line",
            account="Two together.",
            people=[PersonInput(name_hangul=n) for n in ("김선희", "리영호")],
            group_label=label,
        )
        return Group.objects.get(request=request)

    yanji, hunchun = group("Yanji three"), group("Hunchun three")

    assert group_search(ctx=ctx_for(alice), user=alice, query="Yanji three") == [yanji]
    assert group_search(ctx=ctx_for(alice), user=alice, query="thre yanj") == [yanji]
    assert {g.pk for g in group_search(ctx=ctx_for(alice), user=alice, query="three")} == {
        yanji.pk,
        hunchun.pk,
    }
    assert group_search(ctx=ctx_for(alice), user=alice, query="Yanji four") == []


def test_past_the_limit_the_candidates_are_every_holder_as_a_subquery(ctx, alice):
    for name in ("김선희", "최선희", "박선희"):
        _case(ctx, alice, name_hangul=name)

    few, _ = index.search_partial_data_keys(
        ctx=ctx_for(alice), purposes=("name",), query="선희", limit=10
    )
    many, _ = index.search_partial_data_keys(
        ctx=ctx_for(alice), purposes=("name",), query="선희", limit=2
    )

    assert isinstance(few, list) and len(few) == 3
    assert many is not None and not isinstance(many, list)
    assert {str(key) for key in many} == set(few)


def test_strangers_holding_the_same_part_never_crowd_out_the_searchers_own_case(
    ctx, alice, bob, carol, monkeypatch
):
    """More holders than the list carries, most of them cases bob may not open: his own is
    still found (the list was cut before the check of who may see them)."""
    from haven.cases import search

    monkeypatch.setattr(search, "MAX_PARTIAL_IDS", 2)
    theirs = [_case(ctx, alice, owner=carol, name_hangul=n) for n in ("김선희", "최선희", "박선희")]
    mine = _case(ctx, bob, name_hangul="리선희")

    assert _found(bob, "선희") == {mine}
    assert _found(carol, "선희") == set(theirs)
    assert group_search(ctx=ctx_for(bob), user=bob, query="선희") == []


def test_a_hangul_word_search_reads_no_stranger_by_a_words_bucket(ctx, alice, monkeypatch):
    """Every word prefix in one bucket (a stand-in for a bucket a few hundred strangers share
    at 100,000 people): a one-word Hangul search looks for its syllables' runs only, since no
    person's name holding Hangul is kept by its words; a broker's alias still is."""
    monkeypatch.setattr(
        index,
        "_bucket_form",
        lambda ctx, purpose, form: "partial:#words" if form.startswith("w:") else "partial:" + form,
    )
    from haven.cases import search

    sunho = _case(ctx, alice, name_hangul="김순호")
    stranger = _case(ctx, alice, name_romanized="Maria Lopez")
    # Past eight syllables a name's runs stop: only the alias's words hold 김순호.
    broker = make_broker(ctx=ctx, actor=alice, alias="우리동네큰형님 김순호")
    for case in (sunho, stranger):  # re-index under these buckets
        index.search_tokens_set(
            ctx=ctx_for(alice),
            data_key_id=case.data_key_id,
            values=search.person_index_values(search.payload_read(ctx=ctx, record=case.person)),
        )
    index.search_tokens_set(
        ctx=ctx_for(alice),
        data_key_id=broker.data_key_id,
        values=search.broker_index_values(search.payload_read(ctx=ctx, record=broker)),
    )
    read = _reads_counted(monkeypatch)

    assert _found(alice, "김순호") == {sunho}
    assert stranger.person.pk not in read
    assert _found(alice, "Maria") == {stranger}  # a name with no Korean reading, by its word
    assert broker_search(ctx=ctx_for(alice), user=alice, query="김순호") == [broker]
