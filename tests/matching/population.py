"""Small synthetic populations for the matcher's tests: distinct Korean names, with duplicates
written in other romanizations and orders."""

from __future__ import annotations

import random
from itertools import product

from haven.matching.records import MatchRecord, match_record
from haven.matching.romanization import romanize_name

SURNAMES = "김이박최정강조윤장임한오서신권황안송홍유고문양손배"
SYLLABLES = "민서지현수영준우진성희은정하연윤혜경철호석미숙동재"


def people(n: int, *, seed: int = 1, same_year: int | None = None) -> list[dict[str, object]]:
    """``n`` people with distinct Hangul names (surname + two syllables)."""
    rng = random.Random(seed)
    names = [s + a + b for s, a, b in product(SURNAMES, SYLLABLES, SYLLABLES) if a != b]
    rng.shuffle(names)
    return [
        {
            "hangul": names[k],
            "year": same_year if same_year is not None else rng.randint(1960, 2000),
            "month": rng.randint(1, 12),
            "day": rng.randint(1, 28),
            "sex": rng.choice("fm"),
            "origin": rng.choice(["hamgyong", "ryanggang", "pyongan", "hwanghae"]),
        }
        for k in range(n)
    ]


def record(
    pid: int, p: dict[str, object], *, name: str | None = None, copy: int = 0
) -> MatchRecord:
    """A record of person ``p``; ``copy`` > 0 is a later duplicate (its id says whose)."""
    year, month, day = p["year"], p["month"], p["day"]
    assert isinstance(year, int) and isinstance(month, int) and isinstance(day, int)
    return match_record(
        id=f"p{pid}-{copy}",
        name=name if name is not None else str(p["hangul"]),
        birth_year=year,
        birth_month=month,
        birth_day=day,
        sex=str(p["sex"]),
        origin=str(p["origin"]),
    )


def romanized(p: dict[str, object], system: str) -> str:
    """The person's name in a romanization: "rr", "mr", "nk" or "swapped" (RR, Western order)."""
    h = str(p["hangul"])
    if system == "swapped":
        return romanize_name(h[0], h[1:], "rr", surname_last=True)
    return romanize_name(h[0], h[1:], system)  # type: ignore[arg-type]


def with_duplicates(n: int, *, seed: int = 1) -> tuple[list[MatchRecord], set[tuple[str, str]]]:
    """``n`` people in Hangul, every third also written romanized: records and true pairs."""
    pop = people(n, seed=seed)
    records: list[MatchRecord] = []
    truth: set[tuple[str, str]] = set()
    systems = ["rr", "mr", "nk", "swapped"]
    for pid, p in enumerate(pop):
        records.append(record(pid, p))
        if pid % 3 == 0:
            records.append(record(pid, p, name=romanized(p, systems[pid % 4]), copy=1))
            truth.add((f"p{pid}-0", f"p{pid}-1"))
    return records, truth
