"""Evidence from the people a record was reported with (haven.matching.together)."""

from __future__ import annotations

import numpy as np
import pytest

from haven.matching.blocking import dedupe_candidates
from haven.matching.encodings import clear_hasher, encode_records
from haven.matching.engine import find_duplicates
from haven.matching.records import MatchRecord, match_record
from haven.matching.together import (
    MAX_MEMBERS,
    companion_pairs,
    reported_together,
    support_counts,
)

from .population import people, record, romanized

YES = float(np.log2(0.9 / 0.1))  # a proposed pair
NO = float(np.log2(0.1 / 0.9))  # a weak candidate


def _support(
    pairs: list[tuple[int, int, float]], requests: list[int]
) -> dict[tuple[int, int], int]:
    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    weight = np.array([p[2] for p in pairs], dtype=np.float32)
    rows, support = support_counts(
        left=left, right=right, weight=weight, requests=np.array(requests, dtype=np.int64)
    )
    return {(pairs[r][0], pairs[r][1]): int(s) for r, s in zip(rows, support, strict=True)}


def test_a_pair_counts_the_other_matches_between_its_two_requests() -> None:
    # Request 0 names records 0, 1, 2; request 1 names 3, 4, 5, the same three people again.
    requests = [0, 0, 0, 1, 1, 1]
    found = _support([(0, 3, YES), (1, 4, YES), (2, 5, NO)], requests)
    assert found[(2, 5)] == 2  # both companions match: the weak pair is supported twice
    assert found[(0, 3)] == 1  # the other proposed pair, not itself
    assert found[(1, 4)] == 1


def test_a_sibling_s_cross_pair_is_not_supported_by_the_matches_it_touches() -> None:
    # Two siblings (0, 1) reported again (2, 3): the cross pair (0, 3) shares a record with
    # each true match, so neither counts for it.
    found = _support([(0, 2, YES), (1, 3, YES), (0, 3, NO)], [0, 0, 1, 1])
    assert found[(0, 3)] == 0
    assert found[(0, 2)] == 1


def test_a_pair_given_twice_either_way_round_counts_once() -> None:
    requests = [7, 7, 7, 9, 9, 9]  # any integers name requests
    found = _support([(0, 3, YES), (3, 0, YES), (1, 4, YES), (2, 5, NO), (5, 2, NO)], requests)
    assert found[(2, 5)] == found[(5, 2)] == 2
    assert found[(0, 3)] == found[(3, 0)] == 1  # not supported by its own mirror
    assert found[(1, 4)] == 1


def test_pairs_within_one_request_or_beside_a_request_of_one_person_are_left_alone() -> None:
    # Records 0, 1 in request 0; record 2 alone in request 1; record 3 of unknown request.
    found = _support([(0, 1, YES), (0, 2, YES), (1, 3, YES)], [0, 0, 1, -1])
    assert found == {}


def test_the_evidence_is_not_learnt_from_too_few_pairs() -> None:
    pairs = [(0, 3, YES), (1, 4, YES), (2, 5, NO)]
    result = reported_together(
        left=np.array([p[0] for p in pairs]),
        right=np.array([p[1] for p in pairs]),
        weight=np.array([p[2] for p in pairs], dtype=np.float32),
        requests=np.array([0, 0, 0, 1, 1, 1], dtype=np.int64),
    )
    assert result is None


def test_support_that_strangers_have_more_often_than_true_pairs_is_not_used() -> None:
    left: list[int] = []
    right: list[int] = []
    weight: list[float] = []
    requests: list[int] = []

    def request_pair(scores: list[float]) -> None:
        first, second = 2 * len(requests), 2 * len(requests) + 1
        for score in scores:
            left.append(len(requests))
            requests.append(first)
            right.append(len(requests))
            requests.append(second)
            weight.append(score)

    for _ in range(100):
        # One proposed pair whose two requests hold two strangers' pairs: they are supported,
        # it is not.
        request_pair([YES, NO - 6, NO - 6])
        # Two proposed pairs supporting each other.
        request_pair([YES, YES])
    result = reported_together(
        left=np.array(left),
        right=np.array(right),
        weight=np.array(weight, dtype=np.float32),
        requests=np.array(requests, dtype=np.int64),
    )
    assert result is None


def _families(
    *, typo: bool = False, namesakes: int = 0
) -> tuple[list[MatchRecord], list[int], set[tuple[str, str]], set[tuple[str, str]]]:
    """900 people reported in threes (300 requests); every third request's three people are
    reported again together in a request of their own, two of them plainly, the third (a
    "weak" duplicate) with only the birth year and, with ``typo``, a letter dropped from the
    name. With ``namesakes``, the third is written with the name alone instead, a name that
    many strangers also hold (each reported alone, born years apart): at max_block below it,
    the name's block is too large to compare and nothing else blocks him. Returns the
    records, their requests, the true pairs and the weak ones."""
    pop = people(900, seed=3)
    records = [record(pid, p) for pid, p in enumerate(pop)]
    requests = [pid // 3 for pid in range(len(pop))]
    truth: set[tuple[str, str]] = set()
    weak: set[tuple[str, str]] = set()
    for again, g in enumerate(range(0, 300, 3)):
        for k in range(3):
            pid = g * 3 + k
            p = pop[pid]
            truth.add((f"p{pid}-0", f"p{pid}-1"))
            requests.append(300 + again)
            if k < 2:
                records.append(record(pid, p, name=romanized(p, "rr"), copy=1))
                continue
            weak.add((f"p{pid}-0", f"p{pid}-1"))
            if namesakes:
                records.append(
                    match_record(id=f"p{pid}-1", name=str(p["hangul"]), sex=str(p["sex"]))
                )
                for s in range(namesakes):
                    records.append(
                        match_record(
                            id=f"n{pid}-{s}",
                            name=str(p["hangul"]),
                            sex=str(p["sex"]),
                            birth_year=1940 + 4 * s,
                        )
                    )
                    requests.append(10_000 + 100 * pid + s)
                continue
            name = romanized(p, "rr")
            if typo:
                name = name[:-2] + name[-1:]
            records.append(
                match_record(
                    id=f"p{pid}-1", name=name, sex=str(p["sex"]), birth_year=int(p["year"])
                )
            )
    return records, requests, truth, weak


def _found(result: object) -> set[tuple[str, str]]:
    return {
        (min(p.left_id, p.right_id), max(p.left_id, p.right_id))
        for p in result.pairs()  # type: ignore[attr-defined]
    }


def test_a_weak_duplicate_reported_again_with_its_companions_is_found() -> None:
    records, requests, truth, weak = _families(typo=True)
    table = encode_records(records=records, hasher_for=clear_hasher)
    alone = _found(find_duplicates(table=table))
    together = _found(find_duplicates(table=table, requests=np.array(requests)))
    assert len(alone & weak) <= 20  # a typo and a birth year alone rarely pass
    assert len(together & weak) >= 90
    assert together - truth == set() and alone - truth == set()
    assert together >= truth - weak


def test_each_proposed_pair_explains_the_reported_together_weight_and_it_adds_up() -> None:
    records, requests, _truth, _weak = _families(typo=True)
    table = encode_records(records=records, hasher_for=clear_hasher)
    result = find_duplicates(table=table, requests=np.array(requests))
    assert result.together is not None and result.together.agree_weight > 0
    assert result.together.disagree_weight < 0
    shown = 0
    for k in range(len(result)):
        e = result.explain(k)
        assert e.weight == pytest.approx(float(result.weight[k]), abs=0.01)
        rows = [ev for ev in e.evidence if ev.field == "reported together"]
        if result.support is not None and result.support[k] >= 0:
            assert len(rows) == 1
            shown += 1
            assert rows[0].weight == pytest.approx(
                result.together.agree_weight
                if result.support[k] > 0
                else result.together.disagree_weight,
                abs=0.001,
            )
        counted = sum(ev.weight if ev.counted is None else ev.counted for ev in e.evidence)
        assert counted + e.prior_weight == pytest.approx(e.weight, abs=0.02)
    assert shown >= 290


def test_requests_must_name_one_request_per_record() -> None:
    records, requests, _truth, _weak = _families()
    table = encode_records(records=records, hasher_for=clear_hasher)
    with pytest.raises(ValueError, match="one code per record"):
        find_duplicates(table=table, requests=np.array(requests[:-1]))


def test_companions_who_match_do_not_make_two_people_with_unlike_names_one() -> None:
    from haven.matching.together import Together

    together = Together(
        m=0.6,
        u=0.01,
        rows=np.array([0, 1, 2], dtype=np.int64),
        support=np.array([2, 2, 0], dtype=np.int32),
    )
    weak = np.array([True, False, True])
    added = together.weights(weak_name=weak)
    assert added[0] == 0.0  # names not alike enough: support held back
    assert added[1] == pytest.approx(together.agree_weight) and added[1] > 0
    assert added[2] == pytest.approx(together.disagree_weight) and added[2] < 0  # still against


def test_companions_of_two_requests_sharing_a_match_are_compared() -> None:
    # Request 0: rows 0, 1, 2; request 1: rows 3, 4; request 2: row 5 alone; request 3: 6, 7.
    requests = np.array([0, 0, 0, 1, 1, 2, 3, 3], dtype=np.int64)
    left = np.array([0, 1, 5, 6], dtype=np.int64)
    right = np.array([3, 4, 6, 7], dtype=np.int64)
    weight = np.array([YES, NO, YES, YES], dtype=np.float32)
    i, j = companion_pairs(left=left, right=right, weight=weight, requests=requests)
    # Requests 0 and 1 share the proposed pair (0, 3): every cross pair not given already.
    # (5, 6) is proposed too, but request 2 names no one else; (6, 7) lies within a request.
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(0, 4), (1, 3), (2, 3), (2, 4)}


def test_requests_naming_very_many_people_are_not_searched_for_companions() -> None:
    big = MAX_MEMBERS + 1
    requests = np.array([0] * big + [1, 1], dtype=np.int64)
    i, _j = companion_pairs(
        left=np.array([0]),
        right=np.array([big]),
        weight=np.array([YES], dtype=np.float32),
        requests=requests,
    )
    assert len(i) == 0


def test_a_duplicate_blocking_cannot_reach_is_compared_beside_its_companions_match() -> None:
    records, requests, _truth, weak = _families(namesakes=12)
    table = encode_records(records=records, hasher_for=clear_hasher)
    cands = dedupe_candidates(table=table, max_block=10)
    ids = table.ids
    blocked = {
        (min(ids[a], ids[b]), max(ids[a], ids[b]))
        for a, b in zip(cands.left, cands.right, strict=True)
    }
    assert not weak & blocked
    alone = _found(find_duplicates(table=table, max_block=10))
    together = _found(find_duplicates(table=table, max_block=10, requests=np.array(requests)))
    assert not alone & weak
    assert len(together & weak) >= 90
    # No stranger holding the name is taken for him.
    assert not {p for p in together if p[0].startswith("n") or p[1].startswith("n")}


def test_pairs_reviewers_said_are_two_people_support_no_one() -> None:
    records, requests, _truth, weak = _families(typo=True)
    table = encode_records(records=records, hasher_for=clear_hasher)
    # The first family's two plain pairs were decided "not the same" (wrongly, but decided).
    decisions = [("p0-0", "p0-1", False), ("p1-0", "p1-1", False)]
    found = _found(find_duplicates(table=table, requests=np.array(requests), decisions=decisions))
    assert ("p2-0", "p2-1") not in found  # the youngest lost the support of both
    assert len(found & weak) >= 89  # the other families keep theirs
    assert _found(find_duplicates(table=table, requests=np.array(requests))) >= {("p2-0", "p2-1")}
