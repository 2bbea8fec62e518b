"""The leak check: does an outward text (a statement as rendered) contain a true value of anyone
it speaks about, or the name of anyone not yet safe anywhere in the organisation?

Three lookups, over the same normalised forms of the text (:mod:`haven.disclosure.scan`):

* **True values** of every person in scope (the people of the cover records it refers to and
  everyone in their groups): names in Hangul and every romanization, given names, aliases,
  family members' names, the broker's alias, the group's label, the origin, exact places and
  regions of the journey, exact dates (birth; every journey step). Read with the case keys, so
  only in a supervisor's context (approval, and release by a supervisor).
* **Fingerprints** of the same forms (:class:`~haven.disclosure.models.LeakPrint`), keyed with a
  key the server holds outside the database and sealed to the press office: the same check where
  nobody holds the cases (a press officer releasing or rendering). A supervisor refreshes them at
  each cover record they save and at each approval.
* **The blind index**: every capitalised group of words that reads as a name, every Hangul word,
  and every phone-number-like run, as search tokens; a token of a person not yet safe (or of any
  broker) blocks. Needs the index key: supervisors only.

A true value that a supervisor marked publishable (a cover field in ``true`` mode) is not looked
for. A hit blocks the step; the approver is told which field matched and where (the words as the
statement has them); the press office is told only that the check blocked it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from haven.brokers.models import Broker
from haven.cases.models import Case, JourneyEvent
from haven.crypto import KeyContext, leak_fingerprinter
from haven.disclosure import scan
from haven.disclosure.facts import TRUE
from haven.disclosure.gate import person_safe
from haven.matching.hangul import is_syllable
from haven.matching.romanization import ascii_fold
from haven.matching.surnames import BY_ROMAN, COMPOUND, SOUTH_HANGUL
from haven.matching.text import Word, clean, runs, words
from haven.vault.index import index_key_active, name_forms, phone_forms
from haven.vault.models import SearchPurpose, SearchToken
from haven.vault.sealed import data_keys_unlock, payload_read

# What a hit says matched (shown to the approver, never to the press office).
FIELD_LABELS = {
    "name": "name",
    "alias": "alias",
    "family": "a family member's name",
    "broker": "the broker's alias",
    "label": "the group's internal label",
    "origin": "true origin",
    "place": "an exact place",
    "region": "a region of the journey",
    "birth": "birth date",
    "step": "the exact date of a journey step",
    "index-name": "the name of someone not yet safe (not in this statement)",
    "index-alias": "an alias of someone not yet safe (not in this statement)",
    "index-broker": "a broker's alias",
    "index-phone": "a broker's phone number",
}
PARTICLES = tuple(
    sorted(
        [
            "씨는",
            "씨가",
            "씨의",
            "씨를",
            "씨와",
            "씨도",
            "씨에게",
            "님은",
            "님이",
            "님의",
            "에게서",
            "에게",
            "에서",
            "으로",
            "께서",
            "한테",
            "이라고",
            "라고",
            "이다",
            "입니다",
            "은",
            "는",
            "이",
            "가",
            "을",
            "를",
            "의",
            "에",
            "와",
            "과",
            "도",
            "로",
            "씨",
            "님",
            "들",
        ],
        key=len,
        reverse=True,
    )
)
TOKEN_BATCH = 500


@dataclass(frozen=True)
class Hit:
    """One match: what matched (``field``, a key of :data:`FIELD_LABELS`, with the part of a name
    in ``part``), where (``language``: "title" or a language code; offsets in the text as cleaned)
    and the words as written, for the approver only."""

    source: str  # "truth", "fingerprint" or "index"
    field: str
    language: str
    start: int
    end: int
    phrase: str
    part: str = ""
    case_id: str = ""

    @property
    def label(self) -> str:
        label = FIELD_LABELS.get(self.field, self.field)
        return f"{label} ({self.part})" if self.part and self.part != "place" else label


# --- Reading the true values (a supervisor's context) ---------------------------------------------


@dataclass
class Truth:
    """One person's true values: (field, kind of value, value); kinds are "name", "place", "date"
    and "step" (a date whose day and month alone are looked for too)."""

    case_id: str
    values: list[tuple[str, str, Any]] = field(default_factory=list)


def _local_date(moment: dt.datetime) -> set[dt.date]:
    return {moment.date(), timezone.localtime(moment).date()}


def truths_read(*, ctx: KeyContext, case_ids: Iterable[str]) -> list[Truth]:
    """The true values of these cases (the caller checked that ``ctx`` may open them: a
    :class:`~haven.crypto.MissingKeyError` otherwise). Nothing read here is shown to anyone."""
    cases = list(
        Case.objects.filter(pk__in=list(case_ids))
        .select_related("person", "request", "group")
        .order_by("pk")
    )
    keys: set[Any] = {c.data_key_id for c in cases}
    keys |= {c.group.data_key_id for c in cases if c.group is not None}
    broker_ids = {c.request.broker_id for c in cases if c.request and c.request.broker_id}
    brokers = {b.pk: b for b in Broker.objects.filter(pk__in=broker_ids)}
    keys |= {b.data_key_id for b in brokers.values()}
    data_keys_unlock(ctx=ctx, key_ids=keys)
    events: dict[Any, list[JourneyEvent]] = {}
    for event in JourneyEvent.objects.filter(case__in=cases).order_by("occurred_at"):
        events.setdefault(event.case_id, []).append(event)
    labels: dict[Any, str] = {}
    found = []
    for case in cases:
        truth = Truth(case_id=str(case.pk))
        person = payload_read(ctx=ctx, record=case.person)
        for name in (person.get("name_hangul"), person.get("name_romanized")):
            if name:
                truth.values.append(("name", "name", name))
        for alias in person.get("aliases") or []:
            truth.values.append(("alias", "name", alias))
        for link in person.get("family") or []:
            if link.get("name"):
                truth.values.append(("family", "name", link["name"]))
        if person.get("origin_region"):
            truth.values.append(("origin", "place", person["origin_region"]))
        birth = person.get("birth") or {}
        if birth.get("precision") == "day" and birth.get("value"):
            with contextlib.suppress(ValueError):
                truth.values.append(("birth", "date", dt.date.fromisoformat(birth["value"])))
        data = payload_read(ctx=ctx, record=case)
        if data.get("exact_place"):
            truth.values.append(("place", "place", data["exact_place"]))
        for event in events.get(case.pk, []):
            detail = payload_read(ctx=ctx, record=event)
            if detail.get("region"):
                truth.values.append(("region", "place", detail["region"]))
            if detail.get("place"):
                truth.values.append(("place", "place", detail["place"]))
            for day in _local_date(event.occurred_at):
                truth.values.append(("step", "step", day))
        if case.group is not None:
            if case.group_id not in labels:
                labels[case.group_id] = payload_read(ctx=ctx, record=case.group).get("label", "")
            if labels[case.group_id]:
                truth.values.append(("label", "place", labels[case.group_id]))
        broker = (
            brokers.get(case.request.broker_id)
            if case.request is not None and case.request.broker_id is not None
            else None
        )
        if broker is not None:
            alias = payload_read(ctx=ctx, record=broker).get("alias", "")
            if alias:
                truth.values.append(("broker", "name", alias))
        found.append(truth)
    return found


def value_forms(kind: str, value: Any) -> set[tuple[str, str, str]]:
    """(form kind, form, part) of one true value."""
    if kind == "name":
        return scan.name_forms(value)
    if kind == "place":
        return scan.place_forms(value)
    if kind in ("date", "step"):
        return scan.date_value_forms(value, month_day=kind == "step")
    raise ValueError(f"unknown kind of value {kind!r}")


Targets = dict[tuple[str, str], tuple[str, str, str]]  # (kind, form) -> (field, part, case)


def targets_build(truths: Iterable[Truth], *, published: set[tuple[str, str]]) -> Targets:
    """Every form of every true value, less the forms of values marked publishable."""
    targets: Targets = {}
    for truth in truths:
        for field_name, kind, value in truth.values:
            for form_kind, form, part in value_forms(kind, value):
                if (form_kind, form) not in published:
                    targets.setdefault((form_kind, form), (field_name, part, truth.case_id))
    return targets


def published_forms(covers: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The forms of every value a supervisor marked publishable (``true`` mode) in these cover
    payloads: they may appear, so they are not looked for."""
    found: set[tuple[str, str]] = set()
    for cover in covers:
        for name, entry in (cover.get("fields") or {}).items():
            if entry.get("mode") != TRUE:
                continue
            for value in (entry.get("values") or {}).values():
                if not value:
                    continue
                kind = "name" if name == "name" else "place"
                found |= {(k, f) for k, f, _ in value_forms(kind, value)}
            source = entry.get("date")
            if source:
                day = dt.date.fromisoformat(source)
                found |= {(k, f) for k, f, _ in scan.date_value_forms(day, month_day=True)}
    return found


# --- Looking the text up --------------------------------------------------------------------------

Lookup = Callable[[str, str], tuple[str, str, str] | None]


def text_hits(
    texts: Mapping[str, str], lookup: Lookup, *, lengths: scan.Wanted, source: str
) -> list[Hit]:
    """Every form of each text that ``lookup`` knows, once per place in the text."""
    hits: dict[tuple[str, int, int, str], Hit] = {}
    for language, raw in texts.items():
        text = clean(raw)
        for kind, value, start, end in scan.text_forms(text, lengths):
            found = lookup(kind, value)
            if found is None:
                continue
            field_name, part, case_id = found
            key = (language, start, end, field_name)
            if key not in hits:
                hits[key] = Hit(
                    source=source,
                    field=field_name,
                    part=part,
                    language=language,
                    start=start,
                    end=end,
                    phrase=text[start:end],
                    case_id=case_id,
                )
    return _outermost(list(hits.values()))


def _outermost(hits: list[Hit]) -> list[Hit]:
    """One hit per stretch of text: a match inside a longer match of the same field is dropped."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.language, h.start, -(h.end - h.start))):
        if any(
            k.language == hit.language
            and k.field == hit.field
            and k.start <= hit.start
            and hit.end <= k.end
            for k in kept
        ):
            continue
        kept.append(hit)
    return kept


def truth_hits(texts: Mapping[str, str], targets: Targets) -> list[Hit]:
    """The direct check, with the true values at hand."""
    lengths = scan.wanted_lengths(list(targets))
    return text_hits(
        texts, lambda kind, value: targets.get((kind, value)), lengths=lengths, source="truth"
    )


# --- Fingerprints (where nobody holds the cases) ----------------------------------------------------


def fingerprints_of(targets: Targets, *, case_id: str) -> dict[str, Any]:
    """A LeakPrint payload: the fingerprints of one person's forms, with what each is, and the
    lengths to cut a text into. Fingerprints reveal nothing without the server's key."""
    fingerprint = leak_fingerprinter()
    prints = {
        fingerprint(kind, form).hex(): [field_name, part]
        for (kind, form), (field_name, part, owner) in targets.items()
        if owner == case_id
    }
    mine = [key for key, (_f, _p, owner) in targets.items() if owner == case_id]
    lengths = scan.wanted_lengths(mine)
    return {"prints": prints, "lengths": {k: sorted(v) for k, v in lengths.items()}}


def fingerprint_hits(
    texts: Mapping[str, str],
    prints: Mapping[str, Mapping[str, Any]],
    *,
    published: set[tuple[str, str]],
) -> list[Hit]:
    """The check from fingerprints: ``prints`` maps each case to its LeakPrint payload."""
    fingerprint = leak_fingerprinter()
    excluded = {fingerprint(kind, form).hex() for kind, form in published}
    table: dict[str, tuple[str, str, str]] = {}
    lengths: dict[str, set[int]] = {"phrase": set(), "hangul": set(), "han": set()}
    for case_id, payload in prints.items():
        for key, (field_name, part) in (payload.get("prints") or {}).items():
            if key not in excluded:
                table.setdefault(key, (field_name, part, case_id))
        for kind, found in (payload.get("lengths") or {}).items():
            lengths.setdefault(kind, set()).update(int(n) for n in found)
    if not table:
        return []
    wanted = {kind: frozenset(found) for kind, found in lengths.items()}
    return text_hits(
        texts,
        lambda kind, value: table.get(fingerprint(kind, value).hex()),
        lengths=wanted,
        source="fingerprint",
    )


# --- The blind index: anyone not yet safe, anywhere ---------------------------------------------------


def _strip_particle(word: str) -> str:
    for particle in PARTICLES:
        if word.endswith(particle) and len(word) - len(particle) >= 2:
            return word[: -len(particle)]
    return word


# Words that open an English sentence (and so are capitalised) but are never part of a name.
SENTENCE_WORDS = frozenset(
    [
        "a",
        "an",
        "as",
        "at",
        "by",
        "do",
        "go",
        "he",
        "if",
        "in",
        "is",
        "it",
        "my",
        "no",
        "of",
        "oh",
        "on",
        "or",
        "so",
        "to",
        "up",
        "us",
        "we",
        "the",
        "and",
        "but",
        "for",
    ]
)


def _syllables(word: Word) -> int:
    return min((sequence.count(".") + 1 for sequence in word.sequences), default=0)


def _surname(word: Word) -> bool:
    return ascii_fold(word.text).replace(" ", "") in BY_ROMAN


def _name_stretches(run: list[Word]) -> list[list[Word]]:
    """Maximal stretches of capitalised words that read as Korean syllables, without a
    sentence-opening function word in front ("In Kim Sun-hui's words" → Kim Sun-hui)."""
    stretches: list[list[Word]] = []
    current: list[Word] = []
    for word in [*run, None]:
        if word is not None and word.script == "latin" and word.capitalised and word.sequences:
            current.append(word)
            continue
        while len(current) > 1 and current[0].text.casefold() in SENTENCE_WORDS:
            current = current[1:]
        if current:
            stretches.append(current)
        current = []
    return stretches


def index_candidates(raw: str) -> list[tuple[str, int, int, bool]]:
    """(candidate, start, end, parse) of a text for the blind index.

    ``parse``: read as a name (its comparison keys): a stretch of one to three capitalised words
    that read as Korean syllables, taken whole (so that "Kim Jong Un" is not also read as the
    two-syllable name "Kim Jong"; a longer stretch in windows of two and three words), a single
    word only with three syllables or more (a name written joined, Kimsunhui); a Hangul word
    of three syllables or more that starts with a surname (a particle taken off), and a surname
    written apart from its given name. Otherwise the words as written (an alias, a broker's name): every group of one
    to three capitalised words (a lone surname aside), and every Hangul or Chinese word."""
    text = clean(raw)
    found = words(text)
    candidates: list[tuple[str, int, int, bool]] = []
    for run in runs(text, found):
        for stretch in _name_stretches(run):
            windows = [stretch] if len(stretch) <= 3 else []
            # Inside a longer stretch ("Unlike Choi Eun-jeong"), a name of three syllables or
            # more with its surname at one end; never a shorter piece of a longer name.
            for n in (2, 3):
                for i in range(len(stretch) - n + 1):
                    group = stretch[i : i + n]
                    if group == stretch or sum(map(_syllables, group)) < 3:
                        continue
                    if any(_surname(w) for w in (group[0], group[-1])):
                        windows.append(group)
            for group in windows:
                if len(group) == 1 and _syllables(group[0]) < 3:
                    continue
                start, end = group[0].start, group[-1].end
                candidates.append((text[start:end], start, end, True))
        for i in range(len(run)):
            for n in range(1, 4):
                group = run[i : i + n]
                if len(group) < n or not all(w.script == "latin" and w.capitalised for w in group):
                    break
                if n == 1 and _surname(group[0]):
                    continue
                start, end = group[0].start, group[-1].end
                candidates.append((text[start:end], start, end, False))
        for i, word in enumerate(run):
            if word.script == "han":
                candidates.append((word.text, word.start, word.end, False))
            if word.script != "hangul":
                continue
            base = _strip_particle(word.text)
            surname = base[:2] in COMPOUND or base[:1] in SOUTH_HANGUL
            # A two-syllable Korean word that starts with a surname (한국, 이동, 우리) is far
            # more often a word than a name: only a name of three syllables or more is read,
            # and a shorter word is looked up only as an alias or a broker's name.
            candidates.append((base, word.start, word.end, surname and 3 <= len(base) <= 5))
            following = run[i + 1] if i + 1 < len(run) else None
            if (
                following is not None
                and following.script == "hangul"
                and (word.text in SOUTH_HANGUL or word.text in COMPOUND)
            ):
                given = _strip_particle(following.text)
                if 1 <= len(given) <= 3:
                    candidates.append((f"{word.text} {given}", word.start, following.end, True))
    return candidates


def index_hits(
    *,
    ctx: KeyContext,
    texts: Mapping[str, str],
    in_scope: Iterable[str],
    cleared: Iterable[str] = (),
) -> list[Hit]:
    """Words of the texts that are search tokens of a person not yet safe (outside the people the
    statement speaks about, whom the direct check covers) or of a broker. ``cleared``: phrases a
    supervisor said are not about that person. Needs the index key (:class:`MissingKeyError`)."""
    index_key = index_key_active()
    if index_key is None:
        return []
    scope = {str(pk) for pk in in_scope}
    skip = {scan.phrase_form(p) for p in cleared}
    wanted: dict[bytes, list[tuple[str, str, int, int, str]]] = {}
    read: dict[tuple[str, bool], list[str]] = {}
    for language, raw in texts.items():
        text = clean(raw)
        for candidate, start, end, parse in index_candidates(text):
            forms = read.get((candidate, parse))
            if forms is None:
                forms = read[(candidate, parse)] = (
                    name_forms(candidate) if parse else [" ".join(candidate.casefold().split())]
                )
            short_hangul = not parse and len(candidate) <= 2 and is_syllable(candidate[:1])
            purposes = (
                (SearchPurpose.ALIAS, SearchPurpose.BROKER)
                if short_hangul
                else (SearchPurpose.NAME, SearchPurpose.ALIAS, SearchPurpose.BROKER)
            )
            for looked in purposes:
                for form in forms:
                    token = ctx.index_token(looked.value, form)
                    wanted.setdefault(token, []).append(
                        (looked.value, language, start, end, text[start:end])
                    )
        for form in phone_forms(text):
            token = ctx.index_token(SearchPurpose.PHONE.value, form)
            at = text.find(form[:3])
            wanted.setdefault(token, []).append(
                (SearchPurpose.PHONE.value, language, max(at, 0), max(at, 0) + len(form), form)
            )
    if not wanted:
        return []
    rows: list[tuple[bytes, str, Any]] = []
    tokens = list(wanted)
    for i in range(0, len(tokens), TOKEN_BATCH):
        chunk = tokens[i : i + TOKEN_BATCH]
        rows += [
            (bytes(token), purpose, key)
            for token, purpose, key in SearchToken.objects.filter(
                generation=index_key, token__in=chunk
            ).values_list("token", "purpose", "data_key_id")
        ]
    if not rows:
        return []
    keys = {key for _t, _p, key in rows}
    unsafe_people = {
        key
        for pk, key, state, opened in Case.objects.filter(data_key_id__in=keys).values_list(
            "pk", "data_key_id", "state", "opening__state"
        )
        if str(pk) not in scope and not person_safe(state, opened)
    }
    broker_keys = set(
        Broker.objects.filter(data_key_id__in=keys).values_list("data_key_id", flat=True)
    )
    hits: dict[tuple[str, int, int], Hit] = {}
    for token, purpose, key in rows:
        if key in broker_keys:
            field_name = "index-phone" if purpose == SearchPurpose.PHONE else "index-broker"
        elif key in unsafe_people and purpose in (SearchPurpose.NAME, SearchPurpose.ALIAS):
            field_name = f"index-{purpose}"
        else:
            continue
        for asked, language, start, end, phrase in wanted.get(token, []):
            if asked != purpose or scan.phrase_form(phrase) in skip:
                continue
            hits.setdefault(
                (language, start, end),
                Hit(
                    source="index",
                    field=field_name,
                    language=language,
                    start=start,
                    end=end,
                    phrase=phrase,
                ),
            )
    return _outermost(list(hits.values()))
