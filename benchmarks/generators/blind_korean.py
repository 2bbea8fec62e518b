"""An independent generator of person records like the ones Haven's intake receives.

Written blind (from what such records look like, not from Haven's matcher or its other
generator) so that duplicate detection can be measured on records nobody tuned it to. Each record
is what one person wrote about one person in one request: a broker's roster, a requester's own
message on the direct line, a partner agency's referral, a caseworker's re-entry. The same person
appears again when a second broker, the person themself, or the same broker months later reports
them; ``entity_id`` says which records are one person (the ground truth) and is drawn at random,
so it follows from nothing else in the record.

    python benchmarks/generators/blind_korean.py --records 5000 --seed 7 --out people.jsonl
    python benchmarks/generators/blind_korean.py --records 100000 --seed 7 --summary

API: ``generate(n_records, seed, rates=None) -> list[dict]``, ``summarise(records) -> dict``.
Pure Python (``random.Random``; ``numpy`` for the summary), deterministic for a seed, no files.

How the records are built
-------------------------
1. **Travel groups.** People arrive in groups (``Rates.group_kinds``): alone (45%), unrelated
   companions on one broker's route (25%, 2-6 people, mostly from one province), families (18%:
   siblings, a mother with children, a couple), and workplaces (12%, 3-15 people: a restaurant's
   waitresses, as the 13 from Ningbo, or a trading or labour unit). Siblings share a surname,
   origin and request and usually a generation syllable (돌림자); a mother keeps her own surname.
2. **People.** Sex first (72% female: about seven in ten defectors who reach the South are women,
   and restaurant work abroad is almost all women), then occupation given sex, age given
   occupation (waitresses in their twenties, traders 28-55), then a name: a surname by its
   frequency (김 21.5%, 이/리 14.7%, 박 8.4% ... 84 surnames, after the South's census, whose
   distribution the North shares), and a given name of that sex (a list of common names with era, plus
   composition from sex-specific first and second syllables, a few one-syllable names). Names are
   held in the North's spelling (리, 류, 로, 련, 룡) and written in the South's (이, 유, 노, 연,
   용) by writers who use it. Namesakes arise from these frequencies alone: the most common full
   name holds about 0.25% of people, and about 230,000 pairs of different people share a Hangul
   name in 100,000 records (6,500 of them also a written birth year).
3. **Reports.** Each person has k records, P(k) = ``records_per_person`` (about half singletons,
   a tail to six; mean about 1.9). A group's reports are requests; the first names (almost)
   everyone, later ones name the people being reported again, so several people per request is
   common. Later reports come days (a second broker, 30%) or months (70%, mean 150 days) after,
   by a new channel or the same broker.
4. **Writers.** Every record is rendered afresh from the person by its writer (a broker, a staff
   member or partner desk, each with a persistent habit, or the requester): Hangul or not, the
   North's or South's spelling, a romanization system, name order, hyphens, capitals, typos, how
   much of the birth date they know, how they write a province, Korean or English occupations. A
   writer who reported the person before copies their own earlier entry 55% of the time, staff
   re-entering a case copy the latest entry 35% (each part of it with probability 0.85).

Rates (``Rates``, every one a parameter; the defaults and why)
---------------------------------------------------------------
- records per person 1: 0.52, 2: 0.24, 3: 0.12, 4: 0.06, 5: 0.035, 6: 0.025 (mean 1.93): most
  people are reported once; people in danger for long are reported by each broker they try and
  by relatives on the direct line, so a tail of 3-6. A person listed twice in one request
  (0.4% of records, under a name and a nickname) gives the rare count of 7.
- channels: first report broker 0.58, direct line 0.25, partner 0.05, staff 0.12; re-reports
  broker 0.45 (0.4 of them the same broker), direct line 0.30, partner 0.12, staff 0.13.
- names: Hangul on ~81% of records (most brokers are Korean-Chinese and write Hangul, 28% are
  Han Chinese and mostly do not; partner agencies nearly always), romanized on ~61% (brokers'
  rosters, partner forms), both on ~45%, at least one of the two or an alias on every record. North spelling (리/류/로) by 85% of requesters, 65% of brokers
  (Yanbian usage follows the North), 30% of staff, 15% of partners; 2% of writers over-apply it
  (유 as 류). Romanization systems by writer: popular/passport spellings (Kim, Lee, Park,
  Young-hee, Soo), Revised Romanization (Gim only 15% of the time: RR writers keep the popular
  surname), McCune-Reischauer with breves and apostrophes (some typed with carons ǒ/ǔ), MR without
  breves or apostrophes, the North's practice (Ri Yong Hui: spaced syllables, no breves, kh/th/ph).
  Surname first 70%, given name first 25%, "KIM, Young-hee" 5%; given name joined, hyphenated
  or spaced by system habit; all capitals 12%, surname capitals 8%, lower case 5%. A typo in the
  romanized name on 3.5% (a dropped, doubled, swapped or neighbouring letter), a wrong vowel in
  the Hangul on 1.5% (ㅓ/ㅗ, ㅐ/ㅔ, ㅢ/ㅣ...). Hangul spaced after the surname 15%. A cover
  name instead of the real one on 1.5% of records (brokers protect people), a record with only
  a nickname or alias 2%, aliases carried on about a third of the records of people who have
  them (30% of people: a childhood nickname, a Chinese work name, 막내).
- births (``BIRTH_PRECISION`` by channel: requesters know their own date, brokers often only an
  age): of records, 33.5% a full date, 6% year and month, 43% a year only (a quarter of those
  converted by staff from a stated age: international or Korean age, so the year is off by one
  about 70% of the time; "about 30" rounded 10%), 16% nothing, 1.5% month (and day)
  without a year ("--03-05", precision unknown: the product discards it, a matcher reading the
  raw value may not). 30% of people reckon their birthday by the lunar calendar; their own and
  brokers' records then give the lunar date (20-50 days earlier, sometimes in the previous year)
  70% of the time, marked lunar 40% of those. Day and month swapped on 5% of full dates (when
  the day is ≤ 12), year off by one 2.5%, a digit typo 1%.
- origin: province proportions of defectors (of written origins North Hamgyong 43%, Ryanggang
  17%, Pyongyang 14% - higher than among all defectors because restaurant and trade workers
  abroad are vetted, often from the capital: workplace groups draw it 2.5 times as often -, South
  Hamgyong 8%, the rest 1-4% each); 96 spellings (South and North Hangul, RR, MR with and without
  breves, abbreviations like 함북, old names like 평양직할시, 진남포 and 라진선봉, a city for its
  province: 혜산, 청진, Hyesan, border cities weighted first) carry 90% of written origins, 106
  "province city" combinations ("함북 회령", "Hyesan, Ryanggang") 8%, typos 2%. Empty on ~15%
  (``ORIGIN_MISSING`` by channel); another place (where they last lived) on 3%.
- occupation: free text in Korean or English (봉사원, 접대원, 무역일꾼, 로동자, waitress, trader,
  farm worker ...), empty or "unknown"/미상/모름/-/? on ~24% of records (``OCCUPATION_MISSING``
  by channel, and the 8-13% of people whose job nobody knows), another category on 6% (a trader
  recorded as an official, a waitress as a labourer).
- sex: recorded "unknown" on 7% (brokers' rosters often omit it), wrong on 1.2%, "other" 0.1%.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from bisect import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# Weighted choice
# --------------------------------------------------------------------------------------------


class _Pick:
    """A weighted choice drawn with one ``random()`` call (``random.choices`` costs more)."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: list[tuple[Any, float]]) -> None:
        items, weights = zip(*pairs, strict=True)
        self.items = list(items)
        self.cum = list(accumulate(float(w) for w in weights))
        self.total = self.cum[-1]

    def __call__(self, r: random.Random) -> Any:
        return self.items[bisect(self.cum, r.random() * self.total)]


def _pairs(spec: str, sep: str = " ") -> list[tuple[str, float]]:
    """'a:3 b:1' -> [('a', 3.0), ('b', 1.0)]: every item carries its weight, so that a name
    with a space in a space-separated list fails loudly instead of splitting in two."""
    out = []
    for part in spec.split(sep):
        part = part.strip()
        if not part:
            continue
        item, colon, weight = part.rpartition(":")
        if not colon:
            raise ValueError(f"no weight in {part!r}")
        out.append((item, float(weight)))
    return out


def _w(spec: str, sep: str = " ") -> _Pick:
    return _Pick(_pairs(spec, sep))


# --------------------------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------------------------


@dataclass
class Rates:
    """Every rate the generator draws from; the module docstring says why each default."""

    records_per_person: dict[int, float] = field(
        default_factory=lambda: {1: 0.52, 2: 0.24, 3: 0.12, 4: 0.06, 5: 0.035, 6: 0.025}
    )
    group_kinds: dict[str, float] = field(
        default_factory=lambda: {
            "alone": 0.45,
            "companions": 0.25,
            "family": 0.18,
            "workplace": 0.12,
        }
    )
    female: float = 0.72
    first_channel: dict[str, float] = field(
        default_factory=lambda: {
            "broker": 0.58,
            "direct_line": 0.25,
            "partner": 0.05,
            "staff": 0.12,
        }
    )
    later_channel: dict[str, float] = field(
        default_factory=lambda: {
            "broker": 0.45,
            "direct_line": 0.30,
            "partner": 0.12,
            "staff": 0.13,
        }
    )
    same_broker_again: float = 0.40
    later_within_a_month: float = 0.30
    later_gap_mean_days: float = 150.0
    in_first_request: float = 0.90
    listed_twice_in_request: float = 0.004
    copy_own_earlier_entry: float = 0.55
    staff_copies_earlier_entry: float = 0.35
    # names
    hangul_spaced: float = 0.15
    hangul_vowel_typo: float = 0.015
    hangul_given_only: float = 0.01
    north_spelling_overapplied: float = 0.02
    roman_typo: float = 0.035
    roman_case_flip: float = 0.01
    cover_name: float = 0.015
    alias_only: float = 0.02
    person_has_alias: float = 0.30
    alias_on_record: float = 0.35
    broker_code_on_record: float = 0.04
    # births
    lunar_reckoner: float = 0.30
    lunar_date_given: float = 0.70
    lunar_marked: float = 0.40
    solar_marked: float = 0.25
    age_stated: float = 0.25
    korean_age: float = 0.40
    age_rounded: float = 0.10
    day_month_swap: float = 0.05
    year_off_by_one: float = 0.025
    date_digit_typo: float = 0.01
    month_without_year: float = 0.015
    # origin, occupation, sex
    origin_elsewhere: float = 0.03
    origin_typo: float = 0.02
    occupation_other_category: float = 0.06
    sex_unknown: dict[str, float] = field(
        default_factory=lambda: {
            "broker": 0.10,
            "direct_line": 0.03,
            "partner": 0.02,
            "staff": 0.05,
        }
    )
    sex_wrong: float = 0.012
    sex_other: float = 0.001


# Birth precision by channel: requesters know their own date, brokers often only an age.
BIRTH_PRECISION = {
    "broker": {"day": 0.22, "month": 0.06, "year": 0.52, "none": 0.20},
    "direct_line": {"day": 0.52, "month": 0.06, "year": 0.30, "none": 0.12},
    "partner": {"day": 0.47, "month": 0.05, "year": 0.35, "none": 0.13},
    "staff": {"day": 0.36, "month": 0.07, "year": 0.42, "none": 0.15},
}
ORIGIN_MISSING = {"broker": 0.18, "direct_line": 0.10, "partner": 0.12, "staff": 0.15}
OCCUPATION_MISSING = {"broker": 0.22, "direct_line": 0.12, "partner": 0.15, "staff": 0.18}

FIRST_REPORT = dt.date(2013, 1, 1)
LAST_FIRST_REPORT = dt.date(2024, 6, 30)
NEWEST_REPORT = dt.date(2025, 6, 30)

# --------------------------------------------------------------------------------------------
# Hangul
# --------------------------------------------------------------------------------------------
# Initials: ㄱ0 ㄲ1 ㄴ2 ㄷ3 ㄸ4 ㄹ5 ㅁ6 ㅂ7 ㅃ8 ㅅ9 ㅆ10 ㅇ11 ㅈ12 ㅉ13 ㅊ14 ㅋ15 ㅌ16 ㅍ17 ㅎ18
# Vowels: ㅏ0 ㅐ1 ㅑ2 ㅒ3 ㅓ4 ㅔ5 ㅕ6 ㅖ7 ㅗ8 ㅘ9 ㅙ10 ㅚ11 ㅛ12 ㅜ13 ㅝ14 ㅞ15 ㅟ16 ㅠ17 ㅡ18 ㅢ19 ㅣ20


def _parts(syl: str) -> tuple[int, int, int]:
    c = ord(syl) - 0xAC00
    return c // 588, (c % 588) // 28, c % 28


def _syl(i: int, m: int, f: int) -> str:
    return chr(0xAC00 + i * 588 + m * 28 + f)


def _is_hangul(ch: str) -> bool:
    return 0xAC00 <= ord(ch) <= 0xD7A3


_Y_VOWELS = {2, 3, 6, 7, 12, 17, 20}  # ㅑ ㅒ ㅕ ㅖ ㅛ ㅠ ㅣ


def south(syl: str) -> str:
    """The South's initial-sound rule (두음법칙) on a word-initial syllable: 리→이, 로→노, 녀→여."""
    i, m, f = _parts(syl)
    if i == 5:
        return _syl(11 if m in _Y_VOWELS else 2, m, f)
    if i == 2 and m in _Y_VOWELS:
        return _syl(11, m, f)
    return syl


def _overapplied(syl: str) -> str:
    """The rule undone where it never applied (유 of 兪 written 류), as writers sometimes do."""
    i, m, f = _parts(syl)
    if i == 11 and m in _Y_VOWELS:
        return _syl(5, m, f)
    if i == 2:
        return _syl(5, m, f)
    return syl


_VOWEL_SLIPS = {4: (8,), 8: (4,), 1: (5,), 5: (1,), 6: (12,), 12: (6,), 13: (18, 17), 18: (13,)}
_VOWEL_SLIPS |= {17: (13,), 19: (20,), 20: (19,), 11: (10, 15), 10: (11, 15), 15: (11,), 3: (7,)}
_VOWEL_SLIPS |= {7: (3,), 14: (8,), 2: (0,)}


def _vowel_slip(word: str, r: random.Random) -> str:
    spots = [k for k, ch in enumerate(word) if _is_hangul(ch) and _parts(ch)[1] in _VOWEL_SLIPS]
    if not spots:
        return word
    k = r.choice(spots)
    i, m, f = _parts(word[k])
    return word[:k] + _syl(i, r.choice(_VOWEL_SLIPS[m]), f) + word[k + 1 :]


# --------------------------------------------------------------------------------------------
# Romanization
# --------------------------------------------------------------------------------------------


def _table(spec: str) -> tuple[str, ...]:
    """Jamo values in index order, '-' for none."""
    return tuple("" if v == "-" else v for v in spec.split())


RR_I = _table("g kk n d tt r m b pp s ss - j jj ch k t p h")
RR_V = _table("a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i")
FINALS = _table("- k k k n n n t l k m l l l p l m p p t t ng t t k t p t")
MR_I = _table("k kk n t tt r m p pp s ss - ch tch ch' k' t' p' h")
MR_V = _table("a ae ya yae ŏ e yŏ ye o wa wae oe yo u wŏ we wi yu ŭ ŭi i")
NK_I = _table("k kk n t tt r m p pp s ss - j jj ch kh th ph h")
NK_V = tuple(v.replace("ŏ", "o").replace("ŭ", "u") for v in MR_V)
_VOICE = {"k": "g", "t": "d", "p": "b", "ch": "j"}
_NASAL = {"k": "ng", "p": "m", "t": "n"}


def rr(sylls: str) -> list[str]:
    """Revised Romanization as for names: syllable by syllable, no assimilation but ㄹㄹ → ll."""
    out = []
    prev_f = -1
    for s in sylls:
        i, m, f = _parts(s)
        ini = "l" if i == 5 and prev_f == 8 else RR_I[i]
        out.append(ini + RR_V[m] + FINALS[f])
        prev_f = f
    return out


def mr(
    sylls: str, *, o: str = "ŏ", u: str = "ŭ", apostrophe: str = "'", shi: bool = True
) -> list[str]:
    """McCune-Reischauer: voicing after vowels and sonorants, nasal assimilation, breves."""
    parts: list[list[str]] = []
    for k, s in enumerate(sylls):
        i, m, f = _parts(s)
        ini = MR_I[i].replace("'", apostrophe)
        if i == 9 and m in (16, 20) and shi:
            ini = "sh"
        vowel = MR_V[m].replace("ŏ", o).replace("ŭ", u)
        if k:
            pf = parts[-1][2]
            if i in (0, 3, 7, 12) and pf in ("", "n", "l", "m", "ng"):  # plain ㄱ ㄷ ㅂ ㅈ only
                ini = _VOICE[ini]
            if i == 5:
                if pf in ("n", "l"):
                    parts[-1][2], ini = "l", "l"
                elif pf:
                    parts[-1][2], ini = _NASAL.get(pf, pf), "n"
            elif i in (2, 6):
                if i == 2 and pf == "l":
                    ini = "l"
                else:
                    parts[-1][2] = _NASAL.get(pf, pf)
        parts.append([ini, vowel, FINALS[f]])
    return ["".join(p) for p in parts]


def nk(sylls: str) -> list[str]:
    """The North's practice in Latin letters: syllable by syllable, o/u for ŏ/ŭ, kh/th/ph."""
    out = []
    for s in sylls:
        i, m, f = _parts(s)
        out.append(NK_I[i] + NK_V[m] + FINALS[f])
    return out


# Popular (passport, self-chosen) spellings of given-name syllables; others fall back to a loose RR.
_POPULAR_SYLLABLES = """
영 Young:60,Yeong:18,Yong:20,Yung:2|정 Jung:50,Jeong:25,Chung:12,Jong:10,Joung:3|성 Sung:60,Seong:25,Song:13,Soung:2
명 Myung:55,Myeong:25,Myong:20|경 Kyung:50,Kyoung:10,Gyeong:15,Kyong:20,Kyeong:5|현 Hyun:65,Hyeon:20,Hyon:15
은 Eun:80,Un:15,Eum:5|희 Hee:70,Hui:20,Hi:5,Heui:5|숙 Sook:45,Suk:50,Sug:5|순 Soon:50,Sun:45,Shun:5
수 Soo:55,Su:45|주 Joo:50,Ju:45,Chu:5|철 Chul:60,Cheol:25,Chol:15|석 Suk:45,Seok:40,Sok:15
선 Sun:50,Seon:30,Son:15,Sean:5|연 Yeon:55,Yun:25,Yon:20|련 Ryon:50,Ryun:20,Lyun:10,Ryeon:20
금 Keum:45,Kum:35,Geum:20|옥 Ok:85,Ock:15|미 Mi:85,Mee:15|혜 Hye:85,Hae:10,Hyei:5|화 Hwa:100
춘 Chun:70,Choon:30|향 Hyang:100|심 Shim:50,Sim:50|실 Sil:60,Shil:40|광 Kwang:75,Gwang:25
일 Il:90,Eel:5,Ill:5|남 Nam:100|호 Ho:100|혁 Hyuk:60,Hyeok:20,Hyok:20|진 Jin:90,Chin:10
민 Min:100|국 Kook:40,Guk:35,Kuk:25|동 Dong:85,Tong:15|용 Yong:100|룡 Ryong:70,Yong:20,Lyong:10
학 Hak:100|준 Joon:50,Jun:50|훈 Hoon:55,Hun:45|길 Gil:55,Kil:45|복 Bok:55,Pok:35,Bock:10
덕 Duk:45,Deok:35,Dok:20|만 Man:100|식 Sik:55,Shik:45|창 Chang:100|충 Choong:40,Chung:50,Chong:10
세 Se:100|태 Tae:85,Thae:15|원 Won:100|기 Ki:65,Gi:35|병 Byung:50,Byeong:25,Pyong:25
봉 Bong:75,Pong:25|상 Sang:100|종 Jong:60,Chong:40|인 In:100|문 Moon:55,Mun:45|우 Woo:80,U:20
설 Seol:40,Sul:30,Sol:30|란 Ran:70,Lan:30|림 Rim:60,Lim:40|애 Ae:100|자 Ja:80,Cha:20
녀 Nyeo:50,Nyo:50|단 Dan:80,Tan:20|분 Bun:55,Boon:30,Pun:15|말 Mal:100|월 Wol:70,Weol:30
송 Song:100|유 Yoo:50,Yu:50|류 Ryu:80,Ryoo:10,Lyu:10|별 Byul:50,Byeol:30,Pyol:20|리 Ri:70,Lee:15,Li:15
이 Lee:50,Yi:30,I:20|해 Hae:100|하 Ha:100|아 Ah:40,A:60|란 Ran:80,Lan:20|경 Kyung:60,Gyeong:20,Kyong:20
웅 Woong:60,Ung:40|범 Bum:50,Beom:35,Pom:15|근 Keun:45,Geun:35,Kun:20|환 Hwan:100|산 San:100
규 Kyu:70,Gyu:30|삼 Sam:100|무 Moo:50,Mu:50|재 Jae:85,Chae:15|승 Seung:75,Sung:25|윤 Yoon:55,Yun:45
"""


def _popular_table() -> dict[str, _Pick]:
    table: dict[str, _Pick] = {}
    for chunk in _POPULAR_SYLLABLES.replace("\n", "|").split("|"):
        chunk = chunk.strip()
        if chunk:
            syl, spec = chunk.split(" ", 1)
            table[syl] = _w(spec, ",")
    return table


POPULAR = _popular_table()


def popular(sylls: str, r: random.Random) -> list[str]:
    """Spellings people choose for themselves: Young, Soo, Hee; unlisted syllables a loose RR."""
    out = []
    for k, s in enumerate(sylls):
        pick = POPULAR.get(s)
        if pick is not None:
            out.append(pick(r).lower())
            continue
        text = rr(s)[0]
        if "eo" in text:
            text = text.replace("eo", "u" if text.endswith(("n", "ng")) else "o")
        if "eu" in text and r.random() < 0.5:
            text = text.replace("eu", "u")
        if k == 0 and text[:1] in "gdb" and r.random() < 0.5:
            text = {"g": "k", "d": "t", "b": "p"}[text[0]] + text[1:]
        out.append(text)
    return out


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------
# South form | North form | share (%) | popular spellings of the South form | of the North form
_SURNAMES = """
김|김|21.5|Kim:95,Gim:2,Kym:1,Khim:2|
이|리|14.7|Lee:80,Yi:11,Rhee:5,I:2,Rhie:2|Ri:65,Lee:22,Li:10,Rhee:3
박|박|8.4|Park:72,Pak:18,Bak:6,Pack:4|
최|최|4.7|Choi:82,Choe:14,Choy:2,Chey:2|
정|정|4.4|Jung:45,Jeong:24,Chung:20,Jong:7,Cheong:4|
강|강|2.3|Kang:92,Gang:8|
조|조|2.1|Cho:68,Jo:27,Joe:5|
윤|윤|2.0|Yoon:58,Yun:40,Youn:2|
장|장|2.0|Jang:60,Chang:38,Jhang:2|
임|림|1.7|Lim:55,Im:30,Yim:15|Rim:60,Lim:35,Im:5
한|한|1.5|Han:100|
오|오|1.5|Oh:80,O:20|
서|서|1.5|Seo:55,Suh:35,So:10|
신|신|1.5|Shin:85,Sin:15|
권|권|1.4|Kwon:85,Gwon:10,Kwun:5|
황|황|1.4|Hwang:100|
안|안|1.3|Ahn:70,An:30|
송|송|1.3|Song:100|
전|전|1.3|Jeon:45,Jun:25,Chun:15,Chon:15|
홍|홍|1.1|Hong:100|
유|류|1.2|Yoo:45,Yu:40,You:10,Ryu:5|Ryu:65,Ryoo:10,Rhyu:10,Yu:10,Liu:5
유|유|0.3|Yoo:50,Yu:45,You:5|
고|고|0.9|Ko:60,Go:25,Koh:15|
문|문|0.9|Moon:70,Mun:30|
양|량|0.9|Yang:100|Ryang:70,Yang:30
손|손|0.9|Son:70,Sohn:30|
배|배|0.8|Bae:80,Pae:15,Bai:5|
백|백|0.8|Baek:50,Paek:25,Paik:15,Baik:10|
허|허|0.7|Heo:45,Huh:40,Hur:10,Ho:5|
남|남|0.6|Nam:100|
심|심|0.5|Shim:65,Sim:35|
노|로|0.4|Noh:45,No:30,Roh:25|Ro:60,Roh:30,Noh:10
하|하|0.5|Ha:100|
곽|곽|0.4|Kwak:85,Gwak:15|
성|성|0.4|Sung:60,Seong:30,Song:10|
차|차|0.4|Cha:100|
주|주|0.4|Joo:50,Ju:35,Chu:15|
우|우|0.4|Woo:85,U:15|
구|구|0.4|Koo:50,Ku:30,Gu:20|
민|민|0.3|Min:100|
진|진|0.3|Jin:80,Chin:20|
나|라|0.3|Na:90,Ra:10|Ra:70,La:20,Na:10
지|지|0.3|Ji:70,Chi:30|
엄|엄|0.3|Eom:40,Um:45,Uhm:15|
채|채|0.3|Chae:100|
원|원|0.3|Won:100|
천|천|0.2|Cheon:40,Chun:40,Chon:20|
방|방|0.2|Bang:70,Pang:30|
공|공|0.2|Kong:80,Gong:20|
현|현|0.2|Hyun:70,Hyeon:20,Hyon:10|
함|함|0.2|Ham:100|
변|변|0.3|Byun:60,Byeon:25,Pyon:15|
염|렴|0.1|Yeom:50,Yum:35,Youm:15|Ryom:60,Yeom:20,Yum:20
여|려|0.1|Yeo:70,Yoh:20,Yo:10|Ryo:70,Yeo:30
추|추|0.1|Choo:60,Chu:40|
도|도|0.1|Do:70,Doh:20,To:10|
석|석|0.1|Seok:50,Suk:40,Sok:10|
설|설|0.1|Seol:50,Sul:40,Sol:10|
마|마|0.1|Ma:100|
길|길|0.1|Gil:50,Kil:50|
연|연|0.1|Yeon:60,Yun:40|
위|위|0.1|Wi:60,Wee:40|
표|표|0.1|Pyo:100|
명|명|0.05|Myung:70,Myong:30|
기|기|0.05|Ki:80,Gi:20|
반|반|0.05|Ban:70,Pan:30|
왕|왕|0.05|Wang:100|
금|금|0.05|Keum:60,Kum:30,Geum:10|
옥|옥|0.05|Ok:100|
육|륙|0.05|Yook:50,Yuk:50|Ryuk:70,Yuk:30
인|인|0.05|In:100|
맹|맹|0.05|Maeng:100|
제|제|0.05|Je:70,Jae:30|
모|모|0.05|Mo:100|
탁|탁|0.05|Tak:100|
국|국|0.05|Kook:60,Guk:40|
태|태|0.05|Tae:70,Thae:30|
계|계|0.05|Kye:70,Gye:30|
봉|봉|0.05|Bong:70,Pong:30|
용|룡|0.03|Yong:100|Ryong:70,Yong:30
남궁|남궁|0.04|Namgung:60,Namkung:40|
황보|황보|0.02|Hwangbo:100|
선우|선우|0.01|Sunwoo:60,Seonwoo:40|
독고|독고|0.01|Dokgo:60,Tokko:40|
"""


@dataclass(frozen=True)
class Surname:
    south: str
    north: str
    popular_south: _Pick
    popular_north: _Pick


def _surname_table() -> _Pick:
    rows = []
    for line in _SURNAMES.strip().splitlines():
        south_form, north_form, share, pop_s, pop_n = line.split("|")
        s = Surname(south_form, north_form, _w(pop_s, ","), _w(pop_n or pop_s, ","))
        rows.append((s, float(share)))
    return _Pick(rows)


SURNAMES = _surname_table()

# Given names, held in the North's spelling. Era: o = mostly born before 1980, y = after, a = any.
_FEMALE_NAMES = """
영희:8:o 순희:7:o 영숙:6:o 정숙:5:o 명숙:5:o 옥순:4:o 은희:5:a 혜영:4:a 미영:4:a 은정:4:y
정희:5:a 경희:5:a 춘화:3:o 금희:4:a 옥희:4:o 선희:4:a 명희:4:a 은주:3:y 향미:3:y 련희:3:a
설주:2:y 은심:2:a 금옥:3:o 정옥:3:o 영옥:3:o 복순:2:o 은별:2:y 진주:2:y 유정:2:y 송이:2:y
은혜:3:y 경옥:3:o 향란:2:a 춘희:3:o 옥화:2:o 금순:3:o 분희:1:o 말순:1:o 순옥:3:o 정애:2:o
명옥:3:o 성희:3:a 은실:2:a 광옥:2:o 혜경:3:a 미경:3:a 수정:2:y 현희:2:a 설희:2:y 향심:2:y
은향:2:y 류경:1:y 명화:2:a 영애:2:o 옥란:2:o 정화:2:a 복실:1:o 정란:1:a 금실:1:o 은하:2:y
미향:2:y 은경:3:y 혜진:2:y 수련:1:a 진옥:2:a 금주:1:a 순실:1:o 정미:2:y 영미:2:a 련화:1:a
설화:1:y 향옥:1:a 혜련:1:a 리향:1:y 림희:1:a 란희:1:a 려정:1:y 룡희:1:o 성옥:2:o 순자:2:o
영자:2:o 명자:1:o 옥자:1:o 경애:1:o 영란:2:a 춘옥:2:o 순덕:1:o 금련:1:a 은옥:2:a 연희:2:a
"""
_MALE_NAMES = """
철수:5:a 영철:6:a 명철:5:a 광철:5:a 성철:5:a 정철:4:a 영남:4:o 광일:4:a 성일:4:a 정남:3:o
명수:3:a 영호:4:a 정호:3:a 철민:3:y 광혁:3:y 성혁:3:y 일남:2:o 동혁:3:y 룡철:3:a 혁철:2:y
국철:3:a 경철:2:a 금철:3:a 만수:2:o 창호:2:a 충성:1:y 영진:3:a 명진:2:a 철진:2:a 광명:3:a
영광:2:a 진혁:3:y 정훈:2:y 성민:2:y 주혁:2:y 은철:3:a 명호:2:a 광수:3:a 영수:4:o 정수:3:a
성호:3:a 광남:2:o 철남:2:o 룡수:2:a 학철:2:o 문철:2:a 영일:3:a 정일:3:a 경수:2:a 학수:2:o
춘식:1:o 봉철:1:o 덕수:1:o 길남:1:o 명길:1:a 영길:1:o 창수:2:a 인철:2:a 세혁:1:y 일혁:1:y
철웅:2:y 성진:2:a 국진:1:a 현철:2:a 룡남:1:o 리철:1:a 련호:1:a 림수:1:a 동철:2:a 금성:2:a
"""
_FIRST = {
    "female": "영:9 순:7 정:7 명:6 옥:6 금:6 은:8 혜:6 미:5 경:5 선:4 춘:4 향:4 설:3 련:3 복:2 "
    "성:3 진:3 수:3 현:3 해:2 유:2 송:2 광:2 화:2 분:1 말:1 류:1 리:1 림:1 란:1 려:1",
    "male": "영:9 명:7 광:8 성:8 정:7 철:4 일:3 동:4 국:3 금:3 경:4 충:2 창:3 혁:2 진:3 룡:3 만:2 "
    "학:3 문:2 인:2 종:2 상:3 승:2 현:3 준:2 남:2 세:2 원:2 태:2 수:2 기:2 병:2 봉:2 덕:2 석:2 "
    "윤:2 재:2 호:2 길:1 용:1 은:2 춘:2 련:1 리:1",
}
_SECOND = {
    "female": "희:14 숙:8 옥:8 순:7 화:6 미:5 영:5 정:5 주:4 향:4 심:3 실:3 애:3 란:4 련:3 경:4 "
    "진:3 선:4 금:3 혜:2 하:2 별:1 이:2 림:2 월:1 단:1 녀:1 자:2",
    "male": "철:14 수:9 남:6 호:7 일:6 혁:7 진:5 민:4 국:3 성:5 명:4 식:3 준:3 훈:3 길:3 복:2 학:3 "
    "룡:3 범:2 근:2 석:3 환:3 우:3 산:2 만:2 덕:2 광:3 규:2 봉:2 삼:1 웅:2 림:1 무:1",
}
_SINGLE = {"female": "향:2 별:2 란:1 옥:1 화:1 진:1", "male": "혁:3 철:3 훈:2 범:1 준:1 진:1 웅:1"}
# Syllables siblings share as a generation syllable (돌림자): usable in names of either sex.
_GENERATION = "영:8 명:6 정:6 성:5 경:5 은:4 광:3 진:4 금:4 춘:3 혜:2 선:2 옥:2 철:2 룡:2 현:3 수:2"


def _era_pick(spec: str, era: str) -> _Pick:
    rows = []
    for item in spec.split():
        name, weight, tag = item.split(":")
        factor = 1.0 if tag == "a" or tag == era else 0.25
        rows.append((name, float(weight) * factor))
    return _Pick(rows)


_NAMES = {
    ("female", "o"): _era_pick(_FEMALE_NAMES, "o"),
    ("female", "y"): _era_pick(_FEMALE_NAMES, "y"),
    ("male", "o"): _era_pick(_MALE_NAMES, "o"),
    ("male", "y"): _era_pick(_MALE_NAMES, "y"),
}
FIRST = {k: _w(v) for k, v in _FIRST.items()}
SECOND = {k: _w(v) for k, v in _SECOND.items()}
SINGLE = {k: _w(v) for k, v in _SINGLE.items()}
GENERATION = _w(_GENERATION)

# Chinese names people use at work in China, and nicknames.
_CHINESE = {
    "female": "Li Na:3,Wang Fang:2,Zhang Li:2,Liu Yang:1,Chen Jing:2,Xiao Mei:3,Xiao Hong:3,"
    "Jin Hua:3,Li Hua:2,Mei Mei:1,小红:1,小梅:1,金花:1,美玲:1,Lili:2,Anna:1",
    "male": "Li Ming:2,Zhang Wei:2,Wang Lei:2,Jin Long:2,Xiao Jin:2,Liu Qiang:1,Chen Gang:1,"
    "小金:1,金龙:1,大明:1,Jack:1,Alex:1",
}
CHINESE = {k: _w(v, ",") for k, v in _CHINESE.items()}
ROLE_NICKNAMES = {
    "female": _w("막내:3,큰언니:1,언니:1,막내딸:1,아가씨:1,the youngest:1", ","),
    "male": _w("막내:3,형님:1,큰아들:1,아저씨:1,the youngest:1", ","),
}

# --------------------------------------------------------------------------------------------
# Places: province key -> (share, [spellings]); spellings 'h:' Hangul, 'r:' Latin, then weight
# --------------------------------------------------------------------------------------------
_PROVINCES: dict[str, tuple[float, str, dict[str, str]]] = {
    "north_hamgyong": (
        45.0,
        "h:함경북도:30 h:함북:22 r:North Hamgyong:20 r:North Hamgyeong:6 r:Hamgyeongbuk-do:6 "
        "r:Hamgyŏng-pukto:2 r:Hamgyong-pukto:3 r:N. Hamgyong:4 r:North Hamkyung:3",
        {
            "청진": "30|h:청진:50 r:Chongjin:40 r:Cheongjin:10",
            "회령": "25|h:회령:55 r:Hoeryong:45",
            "무산": "20|h:무산:55 r:Musan:45",
            "온성": "12|h:온성:60 r:Onsong:40",
            "김책": "8|h:김책:60 r:Kimchaek:40",
        },
    ),
    "ryanggang": (
        17.0,
        "h:양강도:25 h:량강도:25 h:양강:4 r:Ryanggang:20 r:Yanggang:10 r:Ryanggang-do:5 "
        "r:Yanggang-do:5",
        {"혜산": "70|h:혜산:50 h:혜산시:15 r:Hyesan:35", "삼지연": "10|h:삼지연:60 r:Samjiyon:40"},
    ),
    "south_hamgyong": (
        8.0,
        "h:함경남도:30 h:함남:20 r:South Hamgyong:25 r:Hamgyeongnam-do:8 r:S. Hamgyong:5",
        {"함흥": "60|h:함흥:55 r:Hamhung:33 r:Hamheung:12"},
    ),
    "pyongyang": (
        10.0,
        "h:평양:45 h:평양시:20 h:평양직할시:5 r:Pyongyang:50 r:P'yŏngyang:4 r:Pyeongyang:6 "
        "r:Pyong Yang:3",
        {},
    ),
    "south_pyongan": (
        4.0,
        "h:평안남도:30 h:평남:20 r:South Pyongan:25 r:Pyeongannam-do:8 r:P'yŏngan-namdo:3",
        {"평성": "50|h:평성:60 r:Pyongsong:40"},
    ),
    "north_pyongan": (
        4.0,
        "h:평안북도:30 h:평북:20 r:North Pyongan:25 r:Pyeonganbuk-do:8 r:P'yŏngan-pukto:3",
        {"신의주": "60|h:신의주:60 r:Sinuiju:30 r:Sinŭiju:3"},
    ),
    "chagang": (
        2.0,
        "h:자강도:55 h:자강:10 r:Chagang:27 r:Jagang-do:8",
        {"강계": "50|h:강계:60 r:Kanggye:40"},
    ),
    "kangwon": (
        2.0,
        "h:강원도:60 h:강원:10 r:Kangwon:23 r:Gangwon-do:7",
        {"원산": "50|h:원산:60 r:Wonsan:40"},
    ),
    "north_hwanghae": (
        2.0,
        "h:황해북도:40 h:황북:20 r:North Hwanghae:28 r:Hwanghaebuk-do:12",
        {"사리원": "50|h:사리원:60 r:Sariwon:40"},
    ),
    "south_hwanghae": (
        2.0,
        "h:황해남도:40 h:황남:20 r:South Hwanghae:28 r:Hwanghaenam-do:12",
        {"해주": "50|h:해주:60 r:Haeju:40"},
    ),
    "nampo": (1.5, "h:남포:55 h:진남포:3 r:Nampo:27", {}),
    "rason": (
        1.5,
        "h:라선:35 h:나선:15 h:라진선봉:3 r:Rason:28 r:Rajin-Sonbong:4",
        {},
    ),
    "kaesong": (0.5, "h:개성:65 r:Kaesong:30", {}),
}


@dataclass(frozen=True)
class Place:
    hangul: _Pick
    latin: _Pick
    cities: dict[str, tuple[_Pick, _Pick]]
    city_pick: _Pick | None  # by how many people come from each city (border cities first)

    def some_city(self, r: random.Random) -> str | None:
        """A hometown inside the province, or None when only the province is known."""
        return self.city_pick(r) if self.city_pick is not None else None


def _split_spellings(spec: str) -> tuple[_Pick, _Pick]:
    h, r = [], []
    for name, weight in _pairs(spec):
        script, text = name.split(":", 1)
        (h if script == "h" else r).append((text.replace("_", " "), weight))
    return _Pick(h), _Pick(r)


def _place_table() -> tuple[_Pick, dict[str, Place]]:
    places = {}
    shares = []
    for key, (share, spec, cities) in _PROVINCES.items():
        # Multi-word spellings are written with spaces inside the spec; re-join them.
        h, r = _split_spellings(_protect_spaces(spec))
        spellings = {
            c: _split_spellings(_protect_spaces(v.split("|")[1])) for c, v in cities.items()
        }
        weights = [(c, float(v.split("|")[0])) for c, v in cities.items()]
        places[key] = Place(h, r, spellings, _Pick(weights) if weights else None)
        shares.append((key, share))
    return _Pick(shares), places


def _protect_spaces(spec: str) -> str:
    """'r:North Hamgyong:20 h:함북:3' -> 'r:North_Hamgyong:20 h:함북:3' (items split on spaces)."""
    out, current = [], []
    for token in spec.split():
        current.append(token)
        if token.rsplit(":", 1)[-1].replace(".", "").isdigit() and ":" in token:
            out.append("_".join(current))
            current = []
    return " ".join(out)


PROVINCES, PLACES = _place_table()
# Restaurant and trade workers abroad are vetted, often from the capital.
WORKPLACE_PROVINCES = _Pick(
    [(k, v[0] * (2.5 if k == "pyongyang" else 1.0)) for k, v in _PROVINCES.items()]
)

# --------------------------------------------------------------------------------------------
# Occupations
# --------------------------------------------------------------------------------------------
OCCUPATION_BY_SEX = {
    "female": _w(
        "restaurant_worker:32 trader:10 labourer:20 farmer:8 soldier:1 student:4 official:2 "
        "other:10 unknown:13"
    ),
    "male": _w(
        "restaurant_worker:5 trader:28 labourer:22 farmer:7 soldier:7 student:5 official:10 "
        "other:8 unknown:8"
    ),
}
# Age at the first report: (youngest, most common, oldest).
AGE_BY_OCCUPATION = {
    "restaurant_worker": (19, 23, 33),
    "trader": (27, 38, 58),
    "labourer": (19, 30, 50),
    "farmer": (20, 38, 62),
    "soldier": (18, 22, 32),
    "student": (15, 19, 27),
    "official": (30, 45, 62),
    "other": (18, 35, 65),
    "unknown": (16, 32, 68),
}
_OCCUPATION_WORDS = {
    "restaurant_worker": (
        "식당 종업원:30,식당종업원:15,봉사원:15,접대원:10,식당 복무원:5,요리사:4,해외식당 종업원:5,식당 근무:4",
        "waitress:30,restaurant worker:30,restaurant staff:10,server:5,cook:4,restaurant:5,waitress/singer:2",
    ),
    "trader": (
        "무역일꾼:25,무역원:10,무역 지도원:5,무역회사 직원:10,장사:10,상인:10,외화벌이:10",
        "trader:40,trade worker:10,merchant:10,businessman:5,trading company employee:10,foreign currency earner:3",
    ),
    "labourer": (
        "노동자:25,파견 노동자:15,공장 노동자:15,건설 노동자:10,수산물 가공:10,봉제공:10,로동자:10",
        "labourer:15,laborer:15,worker:20,factory worker:20,construction worker:10,dispatched worker:10,"
        "seafood processing:5,garment worker:5",
    ),
    "farmer": (
        "농민:40,농장원:30,협동농장원:15,농업:10",
        "farmer:50,farm worker:30,agricultural worker:10",
    ),
    "soldier": ("군인:50,제대군인:25,군관:10", "soldier:60,ex-soldier:20,military:15,KPA:5"),
    "student": ("학생:60,대학생:30,중학생:10", "student:80,university student:20"),
    "official": (
        "간부:40,당 간부:20,공무원:20,지배인:20",
        "official:40,party official:20,cadre:15,manager:20",
    ),
    "other": (
        "기타:30,운전수:10,교원:10,의사:8,주부:15,무직:10,간호원:5,예술단원:5",
        "other:40,driver:10,teacher:10,doctor:5,housewife:15,unemployed:10,IT worker:5,nurse:5",
    ),
}
OCCUPATION_WORDS = {k: (_w(ko, ","), _w(en, ",")) for k, (ko, en) in _OCCUPATION_WORDS.items()}
UNKNOWN_WORDS = _Pick([("", 60), ("unknown", 15), ("미상", 10), ("모름", 5), ("-", 5), ("?", 5)])
# What a job is mistaken for by another writer.
OCCUPATION_CONFUSED = {
    "restaurant_worker": _w("labourer:3 other:2 trader:1"),
    "trader": _w("official:3 labourer:2 other:1"),
    "labourer": _w("farmer:2 other:2 restaurant_worker:1"),
    "farmer": _w("labourer:3 other:1"),
    "soldier": _w("labourer:2 other:2"),
    "student": _w("other:2 labourer:1"),
    "official": _w("trader:3 other:1"),
    "other": _w("labourer:2 trader:1"),
}

# --------------------------------------------------------------------------------------------
# Writers and their habits
# --------------------------------------------------------------------------------------------
CHANNELS = ("broker", "direct_line", "partner", "staff")
_SYSTEMS = {
    "broker": _w("pop:45 nk:25 rr:15 mrp:10 mr:5"),
    "direct_line": _w("nk:40 pop:35 rr:15 mrp:10"),
    "partner": _w("rr:55 pop:35 mr:5 mrp:5"),
    "staff": _w("rr:35 pop:30 mr:15 mrp:10 nk:10"),
}
_JOINERS = {
    "rr": _Pick([("", 50), ("-", 35), (" ", 15)]),
    "pop": _Pick([("-", 40), ("", 35), (" ", 25)]),
    "mr": _Pick([("-", 75), ("", 10), (" ", 15)]),
    "mrp": _Pick([("-", 70), ("", 12), (" ", 18)]),
    "nk": _Pick([(" ", 85), ("-", 10), ("", 5)]),
}
_ORDERS = _w("sg:70 gs:25 comma:5")
_CAPS = _w("title:75 upper:12 surname:8 lower:5")
# channel: (writes Hangul, writes Latin letters, North spelling, province in Latin, job in English)
_CHANNEL_HABITS = {
    "direct_line": (0.92, 0.40, 0.85, 0.15, 0.10),
    "partner": (0.88, 0.85, 0.15, 0.30, 0.30),
    "staff": (0.80, 0.80, 0.30, 0.50, 0.50),
}
_KOREAN_CHINESE_BROKER = (0.92, 0.55, 0.70, 0.25, 0.20)
_HAN_CHINESE_BROKER = (0.15, 0.95, 0.40, 0.70, 0.70)


@dataclass
class Style:
    """One writer's habits: a broker, staff member or partner desk keeps them across records."""

    hangul: float
    latin: float
    north: float
    origin_latin: float
    occupation_english: float
    system: str
    joiner: str
    hyphen_capital: bool
    order: str
    caps: str
    o: str = "ŏ"
    u: str = "ŭ"
    apostrophe: str = "'"
    shi: bool = False


def _style(channel: str, r: random.Random) -> Style:
    if channel == "broker":
        habits = _KOREAN_CHINESE_BROKER if r.random() < 0.72 else _HAN_CHINESE_BROKER
    else:
        habits = _CHANNEL_HABITS[channel]
    system = _SYSTEMS[channel](r)
    style = Style(
        *habits,
        system=system,
        joiner=_JOINERS[system](r),
        hyphen_capital=r.random() < 0.2,
        order="sg" if system == "nk" and r.random() < 0.7 else _ORDERS(r),
        caps=_CAPS(r),
    )
    if system == "mr":
        if r.random() < 0.2:  # breves typed as carons, as input methods offer them
            style.o, style.u = "ǒ", "ǔ"
        style.apostrophe = r.choice(("'", "'", "’", "`"))
        style.shi = r.random() < 0.5
    elif system == "mrp":
        style.o, style.u = "o", "u"
        style.apostrophe = "'" if r.random() < 0.4 else ""
        style.shi = r.random() < 0.5
    return style


@dataclass
class Writer:
    key: str
    channel: str
    style: Style
    aliases: _Pick | None = None  # a broker's name as the NGO writes it


_BROKER_TITLES = _w("선생:4 사장:5 아저씨:3 형님:1 누나:1 아줌마:1")
_BROKER_PLACES = _w("연길:5 단동:4 심양:4 장백:2 도문:2 훈춘:2 용정:1 청도:2 곤명:1 장춘:1")
_BROKER_PLACES_LATIN = {"연길": "Yanji", "단동": "Dandong", "심양": "Shenyang", "청도": "Qingdao"}


def _broker(idx: int, r: random.Random) -> Writer:
    s = SURNAMES(r)
    hs, lat = s.south, s.popular_south(r)
    form = r.random()
    if form < 0.4:
        title = _BROKER_TITLES(r)
        names = [(f"{hs} {title}", 8), (f"{hs}{title}", 3), (f"Mr. {lat}", 1)]
    elif form < 0.6:
        place = _BROKER_PLACES(r)
        names = [(f"{place} {hs}씨", 8), (f"{place}{hs}씨", 2), (f"{hs}씨", 1)]
        if place in _BROKER_PLACES_LATIN:
            names.append((f"{lat} ({_BROKER_PLACES_LATIN[place]})", 1))
    elif form < 0.8:
        title = r.choice(("Mr.", "Uncle", "Teacher", "Auntie"))
        names = [(f"{title} {lat}", 8), (lat, 2), (f"{hs} 선생", 1)]
    else:
        code = f"{r.choice('ABCDHKMNX')}-{r.randint(1, 60):02d}"
        names = [(code, 8), (code.replace("-", ""), 2), (code.lower(), 1)]
    names.append(("", 0.5))  # the broker not entered
    return Writer(f"b{idx}", "broker", _style("broker", r), _Pick(names))


# --------------------------------------------------------------------------------------------
# People and groups
# --------------------------------------------------------------------------------------------


@dataclass
class Person:
    eid: str
    sex: str
    surname: Surname
    given: str
    birth: dt.date
    lunar: bool
    lunar_offset: int
    province: str
    city: str | None
    occupation: str
    aliases: list[str]
    k: int = 1
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class _Ids:
    """Random identifiers, unique within a run; they carry nothing about the record."""

    def __init__(self, r: random.Random) -> None:
        self.r = r
        self.seen: set[str] = set()

    def __call__(self, prefix: str) -> str:
        while True:
            value = f"{prefix}{self.r.getrandbits(56):014x}"
            if value not in self.seen:
                self.seen.add(value)
                return value


def _given(sex: str, era: str, r: random.Random) -> str:
    u = r.random()
    if u < 0.02:
        return SINGLE[sex](r)
    if u < 0.32:
        return _NAMES[(sex, era)](r)
    while True:
        a, b = FIRST[sex](r), SECOND[sex](r)
        if a != b:
            return a + b


def _given_with(generation: tuple[str, int], sex: str, r: random.Random) -> str:
    syl, pos = generation
    while True:
        other = SECOND[sex](r) if pos == 0 else FIRST[sex](r)
        if other != syl:
            return syl + other if pos == 0 else other + syl


def _nickname(given: str, r: random.Random) -> str:
    last = given[-1]
    if _parts(last)[2] and r.random() < 0.6:
        return last + "이"  # 철 → 철이, 옥 → 옥이
    return south(given[0]) + given[1:]


def _aliases(sex: str, given: str, surname: Surname, era: str, r: random.Random) -> list[str]:
    out = []
    for _ in range(1 if r.random() < 0.8 else 2):
        u = r.random()
        if u < 0.45:
            out.append(_nickname(given, r))
        elif u < 0.75:
            out.append(CHINESE[sex](r))
        elif u < 0.85:
            out.append(ROLE_NICKNAMES[sex](r))
        else:  # another name from another time or document
            other = _given(sex, era, r)
            out.append(surname.south + south(other[0]) + other[1:])
    return list(dict.fromkeys(out))


def _birth_for(age: float, report: dt.date, r: random.Random) -> dt.date:
    days = int(age * 365.25 + r.random() * 365)
    return max(report - dt.timedelta(days=days), dt.date(1935, 1, 1))


def _person(
    ids: _Ids,
    rates: Rates,
    report: dt.date,
    r: random.Random,
    *,
    sex: str | None = None,
    occupation: str | None = None,
    age: float | None = None,
    surname: Surname | None = None,
    given: str | None = None,
    generation: tuple[str, int] | None = None,
    province: str | None = None,
    city: str | None = "",
) -> Person:
    sex = sex or ("female" if r.random() < rates.female else "male")
    occupation = occupation or OCCUPATION_BY_SEX[sex](r)
    if age is None:
        low, mode, high = AGE_BY_OCCUPATION[occupation]
        age = r.triangular(low, high, mode)
    birth = _birth_for(age, report, r)
    era = "o" if birth.year < 1980 else "y"
    surname = surname or SURNAMES(r)
    if given is None:
        given = _given_with(generation, sex, r) if generation else _given(sex, era, r)
    province = province or PROVINCES(r)
    if city == "":
        city = PLACES[province].some_city(r) if r.random() < 0.6 else None
    aliases = _aliases(sex, given, surname, era, r) if r.random() < rates.person_has_alias else []
    return Person(
        eid=ids("P-"),
        sex=sex,
        surname=surname,
        given=given,
        birth=birth,
        lunar=r.random() < rates.lunar_reckoner,
        lunar_offset=r.randint(20, 50),
        province=province,
        city=city,
        occupation=occupation,
        aliases=aliases,
    )


def _siblings(
    n: int, ids: _Ids, rates: Rates, report: dt.date, r: random.Random, **shared: Any
) -> list[Person]:
    """Brothers and sisters: one surname and home, usually a generation syllable, a few years apart."""
    surname = shared.pop("surname", None) or SURNAMES(r)
    province = shared.pop("province", None) or PROVINCES(r)
    city = PLACES[province].some_city(r)
    generation = (GENERATION(r), 0 if r.random() < 0.7 else 1) if r.random() < 0.75 else None
    eldest_age = shared.pop("age", None)
    out = []
    for j in range(n):
        age = None if eldest_age is None else max(3.0, eldest_age - j * r.uniform(1, 6))
        out.append(
            _person(
                ids,
                rates,
                report,
                r,
                surname=surname,
                generation=generation,
                province=province,
                city=city,
                age=age,
                **shared,
            )
        )
        if eldest_age is None:
            eldest_age = (report - out[0].birth).days / 365.25
    return out


_COMPANIONS = _w("2:40 3:25 4:15 5:10 6:10")
_WORKPLACE = _w("3:20 4:15 5:12 6:10 7:8 8:7 9:6 10:5 11:4 12:4 13:5 14:2 15:2")


def _group(kind: str, ids: _Ids, rates: Rates, report: dt.date, r: random.Random) -> list[Person]:
    if kind == "alone":
        return [_person(ids, rates, report, r)]
    if kind == "companions":
        n = int(_COMPANIONS(r))
        home = PROVINCES(r)
        return [
            _person(ids, rates, report, r, province=home if r.random() < 0.6 else None)
            for _ in range(n)
        ]
    if kind == "family":
        u = r.random()
        if u < 0.45:
            return _siblings(2 if r.random() < 0.7 else 3, ids, rates, report, r)
        mother_age = r.uniform(32, 55)
        home = PROVINCES(r)
        mother = _person(ids, rates, report, r, sex="female", age=mother_age, province=home)
        children = _siblings(
            r.choice((1, 1, 2, 2, 3)),
            ids,
            rates,
            report,
            r,
            province=home,
            age=mother_age - r.uniform(20, 32),
        )
        if u < 0.80:
            return [mother, *children]
        father = _person(
            ids,
            rates,
            report,
            r,
            sex="male",
            age=mother_age + r.uniform(0, 6),
            surname=children[0].surname,
            province=home,
        )
        return [father, mother, *(children if r.random() < 0.6 else [])]
    # workplace: a restaurant's staff abroad, or a trade or labour unit
    n = int(_WORKPLACE(r))
    restaurant = r.random() < 0.8
    people = []
    while len(people) < n:
        province = WORKPLACE_PROVINCES(r)
        if restaurant:
            sex = "female" if r.random() < 0.95 else "male"
            occupation = "restaurant_worker" if sex == "female" or r.random() < 0.5 else "official"
        else:
            sex = "female" if r.random() < 0.45 else "male"
            occupation = "trader" if r.random() < 0.6 else "labourer"
        if len(people) <= n - 2 and r.random() < 0.08:  # sisters sent out together
            age = r.uniform(*AGE_BY_OCCUPATION[occupation][::2])
            people += _siblings(
                2,
                ids,
                rates,
                report,
                r,
                sex=sex,
                occupation=occupation,
                province=province,
                age=age,
            )
        else:
            people.append(
                _person(ids, rates, report, r, sex=sex, occupation=occupation, province=province)
            )
    return people


# --------------------------------------------------------------------------------------------
# Rendering one record
# --------------------------------------------------------------------------------------------
_NEIGHBOURS = {
    "a": "sq",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "u": "yi",
    "n": "bm",
    "m": "n",
    "g": "fh",
    "k": "jl",
    "h": "gj",
    "s": "ad",
    "j": "hk",
    "y": "tu",
    "r": "et",
    "l": "k",
    "c": "xv",
}


def _latin_typo(text: str, r: random.Random) -> str:
    spots = [k for k, ch in enumerate(text) if ch.isalpha()][1:]
    if len(spots) < 3:
        return text
    k = r.choice(spots)
    u = r.random()
    if u < 0.35:
        return text[:k] + text[k + 1 :]
    if u < 0.60:
        return text[:k] + text[k] + text[k:]
    if u < 0.85 and k + 1 < len(text) and text[k + 1].isalpha():
        return text[:k] + text[k + 1] + text[k] + text[k + 2 :]
    near = _NEIGHBOURS.get(text[k].lower())
    if not near:
        return text[:k] + text[k + 1 :]
    ch = r.choice(near)
    return text[:k] + (ch.upper() if text[k].isupper() else ch) + text[k + 1 :]


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _surname_latin(s: Surname, form: str, north: bool, style: Style, r: random.Random) -> str:
    popular_pick = s.popular_north if north and s.north != s.south else s.popular_south
    system = style.system
    if (
        system == "pop"
        or (system == "rr" and r.random() < 0.85)
        or (system in ("mr", "mrp") and r.random() < 0.25)
    ):
        return popular_pick(r)
    if form in ("이", "리") and system != "nk":
        return "Yi" if form == "이" else "Ri"
    if system == "rr":
        text = "".join(rr(form))
    elif system == "nk":
        text = "".join(nk(form)) if form != "이" else "Yi"
    else:
        text = "".join(mr(form, o=style.o, u=style.u, apostrophe=style.apostrophe, shi=style.shi))
    return _cap(text)


def _given_latin(given: str, style: Style, r: random.Random) -> list[str]:
    system = style.system
    if system == "pop":
        return popular(given, r)
    if system == "rr":
        return rr(given)
    if system == "nk":
        return nk(given)
    return mr(given, o=style.o, u=style.u, apostrophe=style.apostrophe, shi=style.shi)


def _latin_name(
    surname: Surname, given: str, north: bool, style: Style, rates: Rates, r: random.Random
) -> str:
    if style.system == "nk":
        north = north or r.random() < 0.9
    form = surname.north if north else surname.south
    given_form = given if north else south(given[0]) + given[1:]
    sur = _surname_latin(surname, form, north, style, r)
    syls = _given_latin(given_form, style, r)
    joiner = style.joiner
    if joiner == " ":
        giv = " ".join(_cap(s) for s in syls)
    elif joiner == "-":
        giv = "-".join([_cap(syls[0])] + [_cap(s) if style.hyphen_capital else s for s in syls[1:]])
    else:
        giv = _cap("".join(syls))
    if style.caps == "surname":
        sur = sur.upper()
    if style.order == "gs":
        text = f"{giv} {sur}"
    elif style.order == "comma":
        text = f"{sur.upper()}, {giv}"
    else:
        text = f"{sur} {giv}"
    if style.caps == "upper":
        text = text.upper()
    elif style.caps == "lower":
        text = text.lower()
    if r.random() < rates.roman_typo:
        text = _latin_typo(text, r)
    if r.random() < rates.roman_case_flip:
        spots = [k for k, ch in enumerate(text) if ch.isalpha()]
        k = r.choice(spots)
        text = text[:k] + text[k].swapcase() + text[k + 1 :]
    return text


def _hangul_name(surname: Surname, given: str, north: bool, rates: Rates, r: random.Random) -> str:
    sur = surname.north if north else surname.south
    if north and sur == surname.south and r.random() < rates.north_spelling_overapplied:
        sur = _overapplied(sur[0]) + sur[1:]
    giv = given if north else south(given[0]) + given[1:]
    if r.random() < rates.hangul_given_only:
        text = giv
    else:
        text = sur + (" " if r.random() < rates.hangul_spaced else "") + giv
    if r.random() < rates.hangul_vowel_typo:
        text = _vowel_slip(text, r)
    return text


def _names(p: Person, writer: Writer, rates: Rates, r: random.Random) -> tuple[str, str, list[str]]:
    style = writer.style
    surname, given = p.surname, p.given
    aliases = [a for a in p.aliases if r.random() < rates.alias_on_record]
    if r.random() < rates.cover_name:  # the broker protects the person with another name
        surname = SURNAMES(r)
        given = _given(p.sex, "o" if p.birth.year < 1980 else "y", r)
        if r.random() < 0.3:
            aliases.append(south(p.given[0]) + p.given[1:])
    if writer.channel == "broker" and r.random() < rates.broker_code_on_record:
        n = r.randint(1, 15)
        aliases.append(r.choice((f"{n}번", f"No.{n}", f"#{n}", f"A{n}")))
    if r.random() < rates.alias_only:
        if not aliases:
            aliases = [p.aliases[0] if p.aliases else _nickname(p.given, r)]
        return "", "", aliases
    north = r.random() < style.north
    hangul = _hangul_name(surname, given, north, rates, r) if r.random() < style.hangul else ""
    latin = _latin_name(surname, given, north, style, rates, r) if r.random() < style.latin else ""
    if not (hangul or latin or aliases):
        if style.hangul >= style.latin:
            hangul = _hangul_name(surname, given, north, rates, r)
        else:
            latin = _latin_name(surname, given, north, style, rates, r)
    return hangul, latin, aliases


_PRECISION = {ch: _Pick(list(v.items())) for ch, v in BIRTH_PRECISION.items()}


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        value = dt.date(y, m, d)
    except ValueError:
        return None
    return value if dt.date(1900, 1, 1) <= value <= NEWEST_REPORT else None


def _birth(
    p: Person, channel: str, report: dt.date, rates: Rates, r: random.Random
) -> tuple[str, str, str]:
    lunar = p.lunar and r.random() < (rates.lunar_date_given if channel != "partner" else 0.3)
    date = p.birth - dt.timedelta(days=p.lunar_offset) if lunar else p.birth
    if lunar:
        u = r.random()
        calendar = (
            "lunar"
            if u < rates.lunar_marked
            else ("solar" if u < rates.lunar_marked + 0.05 else "")
        )
    else:
        calendar = "solar" if r.random() < rates.solar_marked else ""
    if r.random() < rates.month_without_year:  # "born in March", "3월 5일": no year known
        if r.random() < 0.5:
            return f"--{date.month:02d}-{date.day:02d}", "unknown", calendar
        return f"--{date.month:02d}", "unknown", calendar
    precision = _PRECISION[channel](r)
    if precision == "none":
        return "", "unknown", ""
    y, m, d = date.year, date.month, date.day
    if precision == "year" and r.random() < rates.age_stated:
        had_birthday = (report.month, report.day) >= (p.birth.month, p.birth.day)
        age = report.year - p.birth.year - (0 if had_birthday else 1)
        if r.random() < rates.korean_age:
            age = report.year - p.birth.year + 1
        if r.random() < rates.age_rounded:
            age = 5 * round(age / 5)
        y = report.year - age
    if r.random() < rates.year_off_by_one:
        y += r.choice((-1, 1))
    if precision == "day" and d <= 12 and d != m and r.random() < rates.day_month_swap:
        m, d = d, m
    if r.random() < rates.date_digit_typo:
        swapped = y - y % 100 + (y % 10) * 10 + (y // 10) % 10
        if 1930 <= swapped <= 2012 and r.random() < 0.6:
            y = swapped
        elif precision == "day":
            d = d + r.choice((-1, 1, 10, -10))
    if _valid(y, m, d) is None:
        d = min(d, 28) if d > 0 else 1
        if _valid(y, m, d) is None:
            y, m, d = date.year, date.month, date.day
    if precision == "year":
        return f"{y:04d}", "year", calendar if r.random() < 0.1 else ""
    if precision == "month":
        return f"{y:04d}-{m:02d}", "month", calendar
    return f"{y:04d}-{m:02d}-{d:02d}", "day", calendar


def _origin(p: Person, writer: Writer, rates: Rates, r: random.Random) -> str:
    if r.random() < ORIGIN_MISSING[writer.channel]:
        return ""
    province, city = p.province, p.city
    if r.random() < rates.origin_elsewhere:  # where they last lived, not where they are from
        province = PROVINCES(r)
        city = PLACES[province].some_city(r) if r.random() < 0.5 else None
    place = PLACES[province]
    latin = r.random() < writer.style.origin_latin
    u = r.random()
    if city and u < 0.55:
        city_h, city_l = place.cities[city]
        if u < 0.40:
            text = (city_l if latin else city_h)(r)
        elif latin:
            text = f"{city_l(r)}, {place.latin(r)}"
        else:
            text = f"{place.hangul(r)} {city_h(r)}"
    else:
        text = (place.latin if latin else place.hangul)(r)
    if r.random() < rates.origin_typo:
        text = _latin_typo(text, r) if latin else _vowel_slip(text, r)
    return text


_MALE_WORDS = {
    "waitress": "waiter",
    "waitress/singer": "waiter",
    "housewife": "other",
    "주부": "기타",
}


def _occupation(p: Person, writer: Writer, rates: Rates, r: random.Random) -> str:
    category = p.occupation
    if category == "unknown" or r.random() < OCCUPATION_MISSING[writer.channel]:
        return UNKNOWN_WORDS(r)
    if r.random() < rates.occupation_other_category:
        category = OCCUPATION_CONFUSED[category](r)
    english = r.random() < writer.style.occupation_english
    text = OCCUPATION_WORDS[category][1 if english else 0](r)
    if p.sex == "male":
        text = _MALE_WORDS.get(text, text)
    return text


def _sex(p: Person, channel: str, rates: Rates, r: random.Random) -> str:
    u = r.random()
    if u < rates.sex_unknown[channel]:
        return "unknown"
    u -= rates.sex_unknown[channel]
    if u < rates.sex_wrong:
        return "male" if p.sex == "female" else "female"
    if u < rates.sex_wrong + rates.sex_other:
        return "other"
    return p.sex


_COPIED = (
    ("name_hangul", "name_romanized", "aliases"),
    ("sex",),
    ("birth_value", "birth_precision", "birth_calendar"),
    ("origin_region",),
    ("occupation",),
)


def _record(
    p: Person,
    writer: Writer,
    request_key: str,
    report: dt.date,
    ids: _Ids,
    rates: Rates,
    r: random.Random,
) -> dict[str, Any]:
    hangul, latin, aliases = _names(p, writer, rates, r)
    value, precision, calendar = _birth(p, writer.channel, report, rates, r)
    record: dict[str, Any] = {
        "record_id": ids("R-"),
        "entity_id": p.eid,
        "name_hangul": hangul,
        "name_romanized": latin,
        "aliases": aliases,
        "sex": _sex(p, writer.channel, rates, r),
        "birth_value": value,
        "birth_precision": precision,
        "birth_calendar": calendar,
        "origin_region": _origin(p, writer, rates, r),
        "occupation": _occupation(p, writer, rates, r),
        "broker_alias": writer.aliases(r) if writer.aliases else "",
        "request_key": request_key,
        "channel": writer.channel,
        "reported_at": report.isoformat(),
    }
    # A writer who reported this person before often pastes their own entry; staff re-entering
    # a case copy the latest one. Each part is copied or written afresh.
    source = None
    own = [rec for key, rec in p.history if key == writer.key]
    if own and r.random() < rates.copy_own_earlier_entry:
        source = own[-1]
    elif writer.channel == "staff" and p.history and r.random() < rates.staff_copies_earlier_entry:
        source = p.history[-1][1]
    if source is not None:
        for fields in _COPIED:
            if r.random() < 0.85:
                for name in fields:
                    record[name] = list(source[name]) if name == "aliases" else source[name]
    p.history.append((writer.key, record))
    return record


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _later(date: dt.date, rates: Rates, r: random.Random) -> dt.date:
    if r.random() < rates.later_within_a_month:
        gap = r.randint(1, 30)
    else:
        gap = 30 + int(r.expovariate(1.0 / rates.later_gap_mean_days))
    return min(date + dt.timedelta(days=gap), NEWEST_REPORT)


def generate(n_records: int, seed: int, rates: Rates | None = None) -> list[dict[str, Any]]:
    """``n_records`` person records (about 1.9 per person), the same list for the same seed."""
    if n_records < 0:
        raise ValueError("n_records must be ≥ 0")
    rates = rates or Rates()
    r = random.Random(seed)
    ids = _Ids(r)
    per_person = _Pick(list(rates.records_per_person.items()))
    kinds = _Pick(list(rates.group_kinds.items()))
    first_channel = _Pick(list(rates.first_channel.items()))
    later_channel = _Pick(list(rates.later_channel.items()))
    n_brokers = max(8, n_records // 50)
    brokers = [_broker(i, r) for i in range(n_brokers)]
    broker_pick = _Pick([(b, 1.0 / (i + 1) ** 0.7) for i, b in enumerate(brokers)])
    staff = [Writer(f"s{i}", "staff", _style("staff", r)) for i in range(12)]
    partners = [Writer(f"p{i}", "partner", _style("partner", r)) for i in range(3)]
    partner_pick = _Pick(list(zip(partners, (6, 3, 1), strict=True)))
    span = (LAST_FIRST_REPORT - FIRST_REPORT).days

    records: list[dict[str, Any]] = []
    group_no = 0
    while len(records) < n_records:
        group_no += 1
        start = FIRST_REPORT + dt.timedelta(days=r.randrange(span))
        people = _group(kinds(r), ids, rates, start, r)
        for p in people:
            p.k = per_person(r)
        n_requests = max(p.k for p in people)
        requester: Writer | None = None
        first_broker: Writer | None = None
        requests: list[tuple[str, dt.date, Writer]] = []
        date = start
        for j in range(n_requests):
            channel = first_channel(r) if j == 0 else later_channel(r)
            if j:
                date = _later(date, rates, r)
            if channel == "broker":
                if first_broker is not None and r.random() < rates.same_broker_again:
                    writer = first_broker
                else:
                    writer = broker_pick(r)
                first_broker = first_broker or writer
            elif channel == "staff":
                writer = r.choice(staff)
            elif channel == "partner":
                writer = partner_pick(r)
            else:
                if requester is None or r.random() < 0.4:
                    requester = Writer(f"d{group_no}-{j}", "direct_line", _style("direct_line", r))
                writer = requester
            requests.append((ids("Q-"), date, writer))
        for p in people:
            if p.k == n_requests:
                chosen = list(range(n_requests))
            else:
                rest = list(range(1, n_requests))
                if r.random() < rates.in_first_request:
                    chosen = [0, *r.sample(rest, p.k - 1)]
                else:
                    chosen = sorted(r.sample(range(n_requests), p.k))
            for j in sorted(chosen):
                key, date, writer = requests[j]
                records.append(_record(p, writer, key, date, ids, rates, r))
                if r.random() < rates.listed_twice_in_request:
                    records.append(_record(p, writer, key, date, ids, rates, r))
    del records[n_records:]
    r.shuffle(records)
    return records


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def _fold(name: str) -> str:
    """A Hangul name with spaces removed and the South's spelling of its first syllable."""
    name = name.replace(" ", "")
    return south(name[0]) + name[1:] if name and _is_hangul(name[0]) else name


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures that show whether a generated set looks like the real thing."""
    n = len(records)
    per_entity = Counter(rec["entity_id"] for rec in records)
    counts = np.array(list(per_entity.values()))
    share = lambda pred: round(sum(1 for rec in records if pred(rec)) / max(n, 1), 4)  # noqa: E731
    origins = Counter(rec["origin_region"] for rec in records if rec["origin_region"])
    per_request = Counter(rec["request_key"] for rec in records)
    by_name: dict[str, set[str]] = defaultdict(set)
    by_name_year: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in records:
        if rec["name_hangul"]:
            name = _fold(rec["name_hangul"])
            by_name[name].add(rec["entity_id"])
            if rec["birth_value"][:4].isdigit():
                by_name_year[(name, rec["birth_value"][:4])].add(rec["entity_id"])
    # Siblings, seen from outside: two people in one request with one surname and one given
    # syllable in common (the generation syllable), both names in the South's spelling.
    in_request: dict[str, dict[str, str]] = defaultdict(dict)
    for rec in records:
        name = _fold(rec["name_hangul"])
        if len(name) == 3:
            in_request[rec["request_key"]].setdefault(rec["entity_id"], name)
    sibling_like = 0
    for people in in_request.values():
        names = list(people.values())
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if a[0] == b[0] and a != b and (a[1] == b[1] or a[2] == b[2]):
                    sibling_like += 1
    namesake_pairs = sum(len(s) * (len(s) - 1) // 2 for s in by_name.values())
    namesake_year_pairs = sum(len(s) * (len(s) - 1) // 2 for s in by_name_year.values())
    biggest = max(by_name.items(), key=lambda kv: len(kv[1]), default=("", set()))
    return {
        "records": n,
        "people": len(per_entity),
        "records_per_person_mean": round(float(counts.mean()), 3) if n else 0.0,
        "records_per_person": dict(sorted(Counter(counts.tolist()).items())),
        "true_pairs": int(sum(c * (c - 1) // 2 for c in counts.tolist())),
        "requests": len(per_request),
        "records_in_multi_person_requests": share(lambda rec: per_request[rec["request_key"]] > 1),
        "with_hangul": share(lambda rec: bool(rec["name_hangul"])),
        "with_romanized": share(lambda rec: bool(rec["name_romanized"])),
        "with_both": share(lambda rec: bool(rec["name_hangul"] and rec["name_romanized"])),
        "alias_only": share(lambda rec: not (rec["name_hangul"] or rec["name_romanized"])),
        "with_aliases": share(lambda rec: bool(rec["aliases"])),
        "birth_precision": {
            k: share(lambda rec, k=k: rec["birth_precision"] == k)
            for k in ("day", "month", "year", "unknown")
        },
        "birth_month_without_year": share(lambda rec: rec["birth_value"].startswith("--")),
        "birth_calendar": {
            k or "(blank)": share(lambda rec, k=k: rec["birth_calendar"] == k)
            for k in ("solar", "lunar", "")
        },
        "sex": dict(Counter(rec["sex"] for rec in records).most_common()),
        "channel": dict(Counter(rec["channel"] for rec in records).most_common()),
        "origin_empty": share(lambda rec: not rec["origin_region"]),
        "origin_spellings": len(origins),
        "origin_top": origins.most_common(12),
        "occupation_spellings": len(Counter(rec["occupation"] for rec in records)),
        "occupation_top": Counter(rec["occupation"] for rec in records).most_common(12),
        "namesake_pairs_hangul": namesake_pairs,
        "namesake_pairs_hangul_same_year": namesake_year_pairs,
        "commonest_hangul_name": (biggest[0], len(biggest[1])),
        "sibling_like_pairs_in_requests": sibling_like,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write JSON lines here")
    parser.add_argument("--summary", action="store_true", help="print summary statistics")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    records = generate(args.records, args.seed)
    elapsed = time.perf_counter() - started
    if args.out:
        with args.out.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(
        f"{len(records)} records, seed {args.seed}, generated in {elapsed:.2f} s", file=sys.stderr
    )
    if args.summary:
        print(json.dumps(summarise(records), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
