"""What kind of work an occupation, written as it was recorded, describes.

A person's occupation is kept as written ("식당 접대원", "waitress in Ningbo", "협동농장원");
:func:`occupation_category` maps it to one of a few categories for display, statistics and the
matcher's "same kind of work" level. The text stays the record; the category is only a reading
of it, so a new keyword never changes what was stored.

Pure functions, no database::

    occupation_category("식당 복무원")        -> "restaurant_worker"
    occupation_category("collective farm")   -> "farmer"
    occupation_category("restaurant_worker") -> "restaurant_worker"  (the old fixed codes)
    category_name("farmer", "ko")            -> "농민"
    CATEGORIES                                -> (("farmer", "Farmer", "농민"), ...)

Anything not recognised is ``"other"``; empty, "unknown" and the like are ``"unknown"``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

MAX_CHARS = 200

# (code, English, Korean), in display order. The first eight codes include every value the
# person form offered before occupations were kept as written, so stored values keep working.
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("farmer", "Farmer", "농민"),
    ("labourer", "Labourer or factory worker", "노동자"),
    ("miner", "Miner", "광부"),
    ("fisher", "Fisher or seafarer", "어부·선원"),
    ("restaurant_worker", "Restaurant worker", "식당 종업원"),
    ("trader", "Trader", "무역·상인"),
    ("official", "Official or cadre", "간부·공무원"),
    ("soldier", "Soldier", "군인"),
    ("student", "Student", "학생"),
    ("teacher", "Teacher", "교원"),
    ("medical", "Medical worker", "의료인"),
    ("driver", "Driver", "운전사"),
    ("technician", "Engineer or IT worker", "기술자·IT"),
    ("office_worker", "Office worker", "사무원"),
    ("artist", "Artist or athlete", "예술인·체육인"),
    ("homemaker", "Homemaker", "가정주부"),
    ("unemployed", "Without work", "무직"),
    ("other", "Other", "기타"),
    ("unknown", "Unknown", "미상"),
)
CODES = frozenset(code for code, _en, _ko in CATEGORIES)
_NAMES = {code: (en, ko) for code, en, ko in CATEGORIES}

# Keywords per category, tried in this order (the first category with a hit wins): compound
# descriptions put the specific before the generic ("IT 노동자" is technician, not labourer;
# "army officer" a soldier, not an official; "restaurant worker" not a labourer). Korean
# keywords match anywhere in the text; English ones at the start of a word (stems: "agricultur").
_KEYWORDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "unemployed",
        ("무직", "실업", "직업없음", "직업 없음", "백수"),
        ("unemployed", "jobless", "no job", "no work", "no occupation", "none"),
    ),
    (
        "technician",
        (
            "it",
            "프로그램",
            "프로그래머",
            "컴퓨터",
            "소프트웨어",
            "기술자",
            "기술원",
            "엔지니어",
            "정보기술",
        ),
        (
            "it ",
            "programmer",
            "software",
            "developer",
            "computer",
            "engineer",
            "technician",
            "coder",
        ),
    ),
    (
        "restaurant_worker",
        ("식당", "접대원", "복무원", "봉사원", "요리", "주방", "종업원", "음식점", "호텔"),
        (
            "restaurant",
            "waiter",
            "waitress",
            "cook",
            "chef",
            "kitchen",
            "server",
            "hostess",
            "hospitality",
            "hotel",
            "catering",
            "restaurant_worker",
        ),
    ),  # fmt: skip
    (
        "soldier",
        (
            "군인",
            "군관",
            "병사",
            "하전사",
            "장교",
            "인민군",
            "군대",
            "제대군인",
            "군복무",
            "국경경비",
        ),
        (
            "soldier",
            "army",
            "military",
            "navy",
            "naval",
            "air force",
            "veteran",
            "troop",
            "border guard",
        ),
    ),  # fmt: skip
    (
        "medical",
        ("의사", "간호", "약사", "의료", "병원", "한의", "조산"),
        ("doctor", "nurse", "physician", "medic", "hospital", "pharmac", "dentist", "midwife"),
    ),
    (
        "teacher",
        ("교원", "교사", "선생", "교수", "강사", "교육"),
        ("teacher", "professor", "lecturer", "educator", "tutor", "teaching"),
    ),
    (
        "student",
        ("학생", "대학생", "유학생", "학교", "대학"),
        ("student", "pupil", "schoolgirl", "schoolboy", "university", "college", "school"),
    ),
    (
        "miner",
        ("광부", "탄광", "광산", "광업", "채탄", "갱도"),
        ("miner", "mine", "mining", "coal", "colliery", "quarry"),
    ),
    (
        "fisher",
        ("어부", "어민", "수산", "어선", "선원", "어업", "고기잡이"),
        ("fisher", "fishing", "fishery", "fishermen", "sailor", "seaman", "seafarer", "boat"),
    ),
    (
        "farmer",
        ("농민", "농장", "농부", "농사", "농업", "분조", "축산", "과수", "목장"),
        ("farmer", "farm", "peasant", "agricultur", "livestock", "orchard", "rancher"),
    ),
    (
        "driver",
        ("운전", "운수", "기관사", "택시", "화물차"),
        ("driver", "chauffeur", "trucker", "truck", "taxi", "lorry"),
    ),
    (
        "trader",
        (
            "무역",
            "장사",
            "상인",
            "장사꾼",
            "밀수",
            "외화벌이",
            "판매",
            "시장",
            "상점",
            "매대",
            "되거리",
        ),
        (
            "trader",
            "trade",
            "merchant",
            "smuggl",
            "business",
            "vendor",
            "seller",
            "sales",
            "shop",
            "market",
            "peddler",
        ),
    ),  # fmt: skip
    (
        "official",
        (
            "간부",
            "관리",
            "공무원",
            "일군",
            "일꾼",
            "보위",
            "보안",
            "안전원",
            "경찰",
            "외교",
            "대사관",
            "지배인",
            "당위원",
            "위원장",
            "비서",
            "행정",
        ),
        (
            "official",
            "cadre",
            "government",
            "party",
            "diplomat",
            "police",
            "security",
            "bureaucrat",
            "administrat",
            "manager",
            "civil servant",
            "officer",
        ),
    ),  # fmt: skip
    (
        "artist",
        ("예술", "배우", "가수", "무용", "음악", "화가", "체육", "선수", "작가", "기자"),
        (
            "artist",
            "actor",
            "actress",
            "singer",
            "dancer",
            "musician",
            "painter",
            "athlete",
            "writer",
            "journalist",
            "performer",
        ),
    ),  # fmt: skip
    (
        "office_worker",
        ("사무원", "사무", "회사원", "직원", "경리", "통계원", "부기", "회계"),
        ("clerk", "office", "secretary", "accountant", "bookkeeper", "employee", "typist"),
    ),
    (
        "homemaker",
        ("주부", "가사", "부양"),
        ("housewife", "homemaker", "housework", "stay at home"),
    ),
    (
        "labourer",
        (
            "노동자",
            "공장",
            "직공",
            "건설",
            "벌목",
            "노동",
            "로동",
            "봉제",
            "재봉",
            "방직",
            "공원",
            "인부",
            "노무자",
            "파견",
        ),
        (
            "labourer",
            "laborer",
            "labour",
            "labor",
            "worker",
            "factory",
            "construction",
            "builder",
            "logger",
            "lumber",
            "sewing",
            "seamstress",
            "textile",
            "garment",
            "workman",
        ),
    ),  # fmt: skip
)
_UNKNOWN = frozenset(
    {"", "unknown", "미상", "모름", "불명", "n/a", "na", "none given", "-", "?", "—", "unk"}
)
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)[: MAX_CHARS * 4]).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return " ".join(text.replace("_", " ").split())[:MAX_CHARS]


@lru_cache(maxsize=1 << 12)
def occupation_category(text: str | None) -> str:
    """The category code of an occupation as written (Korean or English), ``"other"`` if no
    keyword is recognised, ``"unknown"`` if empty or unknown. The old fixed codes
    (``restaurant_worker``, ``labourer``...) map to themselves."""
    if text is None:
        return "unknown"
    raw = str(text).strip().casefold()
    if raw in CODES:
        return raw
    cleaned = _clean(text)
    if cleaned in _UNKNOWN:
        return "unknown"
    words = _WORDS.findall(cleaned)
    padded = " " + " ".join(words) + " "
    for code, korean, english in _KEYWORDS:
        if any(k in cleaned for k in korean if not k.isascii()):
            return code
        # ASCII keywords (English, and "it" in a Korean phrase such as "IT 노동자") at the start
        # of a word; a keyword of several words as a phrase.
        for k in (*english, *(k for k in korean if k.isascii())):
            key = k.strip()
            if " " in key:
                if f" {key} " in padded or f" {key}" in padded:
                    return code
            elif k.endswith(" ") or len(key) <= 3:
                if key in words:  # short words whole: "it", "cook" is not "cookie"-safe anyway
                    return code
            elif any(w.startswith(key) for w in words):
                return code
    return "other"


def category_name(code: str, language: str = "en") -> str:
    """A category's display name in English (``"en"``) or Korean (``"ko"``); the code itself if
    it is not a category."""
    names = _NAMES.get(code)
    if names is None:
        return code
    return names[1] if language.startswith("ko") else names[0]
