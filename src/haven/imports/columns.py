"""What a column of an import can be, the headers that name each in Korean and English, and the
words a cell may use for a choice (여/F/female…).

A *mapping* is header -> field (one of :data:`FIELDS`, or "" to leave the column out) plus
options (:class:`Options`). :func:`mapping_guess` proposes one from the headers; the person
importing checks it (the page shows it, the command prints it) and may save it for next time.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from haven.cases.journey import State
from haven.cases.models import Channel, Confidence, Urgency
from haven.imports.dates import DATE_ORDERS, DAY_FIRST

# field -> (label, what it is for). Order: as the page lists them.
FIELDS: dict[str, Any] = {
    "name_hangul": _("Name (Hangul)"),
    "name_romanized": _("Name (romanized)"),
    "aliases": _("Aliases (separated by ; or ,)"),
    "sex": _("Sex"),
    "birth": _("Birth date (or year)"),
    "birth_lunar": _("Birth date is lunar (yes/no)"),
    "origin_region": _("Place of origin"),
    "occupation": _("Occupation"),
    "own_words": _("Their own words"),
    "summary": _("Case summary / remarks"),
    "request_ref": _("Request reference (rows sharing one are one request)"),
    "group_label": _("Group label"),
    "received_at": _("Date received"),
    "channel": _("Channel"),
    "urgency": _("Urgency"),
    "country": _("Country now (ISO code or name)"),
    "region": _("Region now"),
    "account": _("Account of the request"),
    "contact": _("Contact"),
    "owner": _("Owner (staff username)"),
    "state": _("Journey state"),
    "state_date": _("Date of that state"),
    "confidence": _("How sure (confirmed/likely/unverified)"),
}

# Headers as spreadsheets write them, compared after :func:`header_key` (case, spaces, marks).
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "name_hangul": (
        "이름",
        "성명",
        "한글이름",
        "한글성명",
        "이름(한글)",
        "성명(한글)",
        "name",
        "korean name",
        "name (hangul)",
        "hangul name",
        "name hangul",
        "full name",
    ),
    "name_romanized": (
        "영문이름",
        "영문성명",
        "영문",
        "이름(영문)",
        "로마자",
        "romanized name",
        "name (romanized)",
        "english name",
        "name romanized",
        "romanised name",
        "name (english)",
    ),
    "aliases": ("별명", "가명", "다른이름", "이명", "alias", "aliases", "nickname", "other names"),
    "sex": ("성별", "sex", "gender"),
    "birth": (
        "생년월일",
        "출생",
        "출생일",
        "생일",
        "출생년도",
        "생년",
        "나이",
        "birth",
        "birth date",
        "date of birth",
        "dob",
        "birthday",
        "year of birth",
        "born",
    ),
    "birth_lunar": (
        "음력",
        "음력여부",
        "음/양",
        "음양",
        "lunar",
        "lunar calendar",
        "birth lunar",
        "lunar birth",
    ),
    "origin_region": (
        "출신",
        "출신지",
        "고향",
        "출신지역",
        "origin",
        "place of origin",
        "hometown",
        "from",
        "origin region",
    ),
    "occupation": ("직업", "직종", "occupation", "job", "work"),
    "own_words": (
        "본인진술",
        "진술",
        "본인의말",
        "사연",
        "탈북동기",
        "own words",
        "their words",
        "statement",
        "in their words",
    ),
    "summary": (
        "비고",
        "메모",
        "요약",
        "특이사항",
        "summary",
        "notes",
        "remarks",
        "comment",
        "comments",
    ),
    "request_ref": (
        "요청번호",
        "접수번호",
        "요청",
        "관리번호",
        "request",
        "request id",
        "request ref",
        "request reference",
        "reference",
        "ref",
        "case group",
    ),
    "group_label": ("그룹", "그룹명", "일행", "group", "group label", "group name"),
    "received_at": (
        "접수일",
        "접수일자",
        "요청일",
        "날짜",
        "일자",
        "received",
        "date received",
        "received at",
        "date",
        "request date",
    ),
    "channel": ("경로", "채널", "접수경로", "channel", "via", "route in"),
    "urgency": ("긴급도", "긴급", "우선순위", "urgency", "priority"),
    "country": (
        "국가",
        "현재국가",
        "체류국",
        "소재국",
        "country",
        "country now",
        "current country",
    ),
    "region": ("지역", "현재지역", "소재지", "region", "region now", "area"),
    "account": ("내용", "요청내용", "경위", "account", "request text", "details", "description"),
    "contact": ("연락처", "연락", "contact", "phone", "contact details"),
    "owner": ("담당자", "담당", "owner", "caseworker", "assigned to"),
    "state": ("상태", "진행상태", "현황", "state", "status", "journey state", "stage"),
    "state_date": ("상태일", "상태날짜", "변경일", "state date", "status date", "since"),
    "confidence": ("확실성", "신뢰도", "confidence", "certainty"),
}


def header_key(text: str) -> str:
    """A header compared loosely: NFKC, case-folded, without spaces, dots, underscores or
    colons."""
    text = unicodedata.normalize("NFKC", str(text)).casefold()
    return "".join(ch for ch in text if ch not in " \t._:-*#")


_BY_HEADER: dict[str, str] = {
    header_key(word): name for name, words in HEADER_WORDS.items() for word in words
}


@dataclass
class Options:
    """How cells are read, besides which column is which."""

    date_order: str = DAY_FIRST
    default_country: str = ""
    default_channel: str = Channel.STAFF
    default_urgency: int = Urgency.NORMAL

    @classmethod
    def from_dict(cls, data: Any) -> Options:
        data = data if isinstance(data, dict) else {}
        options = cls()
        if data.get("date_order") in DATE_ORDERS:
            options.date_order = data["date_order"]
        if isinstance(data.get("default_country"), str):
            options.default_country = data["default_country"][:2].upper()
        if data.get("default_channel") in Channel.values:
            options.default_channel = data["default_channel"]
        if data.get("default_urgency") in Urgency.values:
            options.default_urgency = int(data["default_urgency"])
        return options

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


NAME_FIELDS = frozenset({"name_hangul", "name_romanized", "aliases"})


def has_name(mapping: dict[str, str]) -> bool:
    return bool(NAME_FIELDS & set(mapping.values()))


def mapping_guess(headers: list[str]) -> dict[str, str]:
    """header -> field for every header, "" where nothing fits; each field taken once (the
    first header that names it)."""
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for header in headers:
        if not header:
            continue
        field = _BY_HEADER.get(header_key(header), "")
        if field and field not in taken:
            taken.add(field)
            mapping[header] = field
        else:
            mapping[header] = ""
    return mapping


def mapping_clean(mapping: Any, headers: list[str], *, require_name: bool = True) -> dict[str, str]:
    """A mapping checked against the file's headers: every header present (unknown ones left
    out), only known fields, no field twice, and (``require_name``) a name column. Raises
    ``ValueError`` with a message."""
    if not isinstance(mapping, dict):
        raise ValueError("The column mapping must name a field for each column.")
    by_key = {header_key(h): h for h in headers if h}
    cleaned = {h: "" for h in headers if h}
    seen: dict[str, str] = {}
    for header, field in mapping.items():
        if not isinstance(header, str) or not isinstance(field, str):
            raise ValueError("The column mapping must be text: column -> field.")
        actual = by_key.get(header_key(header))
        if actual is None:
            continue  # a saved mapping may name columns this file does not have
        if field and field not in FIELDS:
            raise ValueError(f"“{field}” is not a field Haven imports (column “{header}”).")
        if field and field in seen:
            raise ValueError(
                f"The columns “{seen[field]}” and “{actual}” are both mapped to {FIELDS[field]}; "
                "map each field from one column."
            )
        if field:
            seen[field] = actual
        cleaned[actual] = field
    if require_name and not (NAME_FIELDS & set(cleaned.values())):
        raise ValueError(
            "No column is mapped to a name (Hangul, romanized or aliases): every person needs one."
        )
    return cleaned


# --- Choices in the words people use ----------------------------------------------------------

SEX_WORDS = {
    "female": ("여", "여자", "여성", "f", "female", "woman", "w", "girl"),
    "male": ("남", "남자", "남성", "m", "male", "man", "boy"),
    "other": ("기타", "other", "x"),
    "unknown": ("", "모름", "미상", "unknown", "?", "-", "u"),
}
OCCUPATION_WORDS = {
    "trader": ("무역", "무역일꾼", "무역업", "상인", "장사", "trader", "trade", "merchant"),
    "restaurant_worker": (
        "식당",
        "식당종업원",
        "종업원",
        "식당직원",
        "restaurant",
        "restaurant worker",
        "waitress",
        "waiter",
    ),
    "labourer": (
        "노동자",
        "근로자",
        "노동",
        "파견노동자",
        "labourer",
        "laborer",
        "worker",
        "labour",
        "labor",
    ),
    "official": ("간부", "공무원", "관리", "official", "cadre", "civil servant"),
    "soldier": ("군인", "병사", "soldier", "military", "army"),
    "student": ("학생", "유학생", "student"),
    "other": ("기타", "other"),
    "unknown": ("", "모름", "미상", "unknown", "-", "?"),
}
CHANNEL_WORDS = {
    Channel.DIRECT_LINE: (
        "직접",
        "직통",
        "직접연락",
        "핫라인",
        "direct",
        "direct line",
        "direct_line",
        "hotline",
        "portal",
    ),
    Channel.BROKER: ("브로커", "중개인", "broker"),
    Channel.PARTNER: ("협력기관", "기관", "정부", "partner", "agency"),
    Channel.STAFF: ("직원", "staff", "office"),
}
URGENCY_WORDS = {
    Urgency.LOW: ("낮음", "낮", "low", "1"),
    Urgency.NORMAL: ("보통", "중간", "normal", "medium", "2"),
    Urgency.HIGH: ("높음", "높", "긴급", "high", "urgent", "3"),
    Urgency.CRITICAL: ("매우긴급", "최우선", "위급", "critical", "4"),
}
CONFIDENCE_WORDS = {
    Confidence.CONFIRMED: ("확인", "확인됨", "confirmed", "sure"),
    Confidence.LIKELY: ("추정", "가능성높음", "likely", "probable"),
    Confidence.UNVERIFIED: ("미확인", "unverified", "unknown", ""),
}
STATE_WORDS: dict[str, tuple[str, ...]] = {
    State.RECEIVED: ("접수", "received", "new", "신규"),
    State.VERIFYING: ("확인중", "검증중", "verifying"),
    State.ACCEPTED: ("수락", "승인", "accepted"),
    State.REFERRED: ("이관", "의뢰", "referred"),
    State.LEFT_WORKPLACE: ("이탈", "직장이탈", "left workplace", "left_workplace"),
    State.IN_TRANSIT: ("이동중", "in transit", "in_transit"),
    State.IN_THIRD_COUNTRY: (
        "제3국",
        "제삼국",
        "in third country",
        "in_third_country",
        "third country",
    ),
    State.AWAITING_FLIGHT: ("출국대기", "항공대기", "awaiting flight", "awaiting_flight"),
    State.ARRIVED: ("입국", "도착", "arrived"),
    State.HANDED_OVER: ("인계", "handed over", "handed_over"),
    State.CLOSED: ("종결", "완료", "closed", "done"),
    State.DECLINED: ("거절", "반려", "declined"),
    State.DUPLICATE: ("중복", "duplicate"),
    State.WITHDRAWN: ("철회", "포기", "withdrawn"),
    State.LOST_CONTACT: ("연락두절", "연락끊김", "lost contact", "lost_contact"),
    State.DETAINED: ("체포", "구금", "detained", "arrested"),
    State.REPATRIATED: ("강제송환", "송환", "repatriated"),
    State.DECEASED: ("사망", "deceased", "died"),
}
COUNTRY_WORDS = {
    "CN": ("중국", "china", "prc", "中国"),
    "TH": ("태국", "thailand", "泰国"),
    "KR": ("한국", "대한민국", "남한", "south korea", "korea", "republic of korea", "韩国"),
    "KP": ("북한", "조선", "north korea", "dprk", "朝鲜"),
    "LA": ("라오스", "laos", "老挝"),
    "VN": ("베트남", "vietnam", "viet nam", "越南"),
    "KH": ("캄보디아", "cambodia", "柬埔寨"),
    "MN": ("몽골", "mongolia", "蒙古"),
    "RU": ("러시아", "russia", "俄罗斯"),
    "MM": ("미얀마", "myanmar", "burma", "缅甸"),
    "JP": ("일본", "japan", "日本"),
    "US": ("미국", "united states", "usa", "美国"),
    "GB": ("영국", "united kingdom", "uk", "britain", "英国"),
}


def _index(words: Mapping[Any, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(word): str(code) for code, group in words.items() for word in group}


SEXES = _index(SEX_WORDS)
OCCUPATIONS = _index(OCCUPATION_WORDS)
CHANNELS = _index(CHANNEL_WORDS)
URGENCIES = _index(URGENCY_WORDS)
CONFIDENCES = _index(CONFIDENCE_WORDS)
STATES = _index(STATE_WORDS)
COUNTRIES = _index(COUNTRY_WORDS)


def choice_of(table: dict[str, str], text: str, allowed: list[Any] | None = None) -> str | None:
    """The code a cell names (its words or the code itself), else None."""
    key = header_key(text)
    if key in table:
        return table[key]
    codes = {header_key(str(code)): str(code) for code in (allowed or set(table.values()))}
    return codes.get(key)
