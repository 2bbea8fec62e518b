"""Blind indexes: finding a person or a broker by name or number with no plaintext column.

Each searchable value is normalised (a name into the coarse comparison keys of
:func:`haven.matching.names.normalise_name`, which fold Hangul and every romanization, plus its
NFKC-casefolded whole form; a phone number into its digits), then turned into a 16-byte keyed
hash with the organisation's *index key* (:class:`~haven.vault.models.SearchIndexKey`). The index
key is stored only sealed to the all-staff team key and to the recovery key, so only people who
hold the all-staff key (intake officers, caseworkers, supervisors) compute tokens; administrators,
auditors, press officers and partner liaisons cannot.

Tokens (:class:`~haven.vault.models.SearchToken`) belong to a record's data key: shredding the key
deletes them. A search computes the query's tokens the same way and looks them up; equal values
give equal tokens, and the database learns only how often a (normalised) value repeats.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from haven.crypto import IndexKey, KeyContext
from haven.db.rows import Rows
from haven.matching.hangul import is_syllable
from haven.matching.names import MAX_CHARS, normalise_name
from haven.vault import integrity
from haven.vault.models import (
    Grant,
    IndexKeyCopy,
    SearchIndexKey,
    SearchIndexPending,
    SearchPurpose,
    SearchToken,
    TeamKey,
)

NAME_PURPOSES = (SearchPurpose.NAME, SearchPurpose.ALIAS, SearchPurpose.BROKER)
MIN_PHONE_DIGITS = 6
MAX_PHONE_DIGITS = 20
MAX_VALUES_PER_PURPOSE = 50
# A run of digits with the separators phone numbers are written with, on one line:
# +82 10-1234-5678, (010) 1234.5678, 138/0013/8000.
_PHONE_RUN = re.compile(r"\+?\d[\d \t().\-/]*\d")


class SearchUnavailableError(ValidationError):
    """The organisation has no index key (set up before blind indexes existed)."""


# --- Normalisation -----------------------------------------------------------------------------


def _fold(value: str) -> str:
    """NFKC, casefolded, control and format characters dropped, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", value[: MAX_CHARS * 4]).casefold()
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    return " ".join(kept.split())[:MAX_CHARS]


def name_forms(value: str) -> list[str]:
    """The forms a name is indexed and searched under: every comparison key of its readings
    ("kim son.hi" for 김선희, Kim Sun-hui and Gim Seon-hui) and its casefolded whole form (which
    finds names that do not read as Korean, or are spelled oddly, by their exact spelling)."""
    forms = list(normalise_name(value).keys)
    whole = _fold(value)
    if whole:
        forms.append(whole)
    return list(dict.fromkeys(forms))


# --- Partial forms (parts and prefixes of a name) ---------------------------------------------
#
# A name is also findable by part of it: two or more syllables in a row of its comparison key
# (김순 finds 김순희; 선희 and Sun-hui find 김선희; Sun-ok finds 박순옥), and, for a name that does
# not read as Korean (a group's label, a broker's alias), the start of any word of three letters
# or more ("Yanj" finds "Yanji three"). Never one syllable or a surname alone, which would put
# a fifth of the population (김) under one token.
#
# These forms are not stored as tokens of their own: each is hashed, and only a *bucket* of the
# hash is kept (:data:`PARTIAL_BUCKETS` buckets, a token of the bucket's number), so one partial
# token stands for every part or prefix that falls in its bucket, across every record. Someone
# with the database sees bucket sizes, not how many records share one part; a search's bucket
# candidates are checked against the names themselves, decrypted for that search only
# (:func:`haven.cases.search.partial_matches`), so a bucket's strangers are never shown.
PARTIAL_BUCKETS = 4096
MIN_PART_SYLLABLES = 2
MAX_PART_SYLLABLES = 8
MIN_PREFIX_LETTERS = 3
MAX_PREFIX_LETTERS = 12
_PARTIAL = "partial:"


def partial_forms(value: str, *, words: bool = False) -> set[str]:
    """The parts and prefixes ``value`` is found by (see above): ``"k:<syllables>"`` for runs of
    syllable codes, ``"w:<letters>"`` for word prefixes of a name that does not read as Korean,
    or of any name with ``words`` (a broker's alias: "Jang" finds "Mr Jang (Dandong)")."""
    forms: set[str] = set()
    readings = normalise_name(value)
    for key in readings.keys:
        syllables = [s for s in key.replace(" ", ".").split(".") if s][:MAX_PART_SYLLABLES]
        if not readings.readings:
            continue  # no Korean reading: its words are handled below
        for start in range(len(syllables)):
            for end in range(start + MIN_PART_SYLLABLES, len(syllables) + 1):
                forms.add("k:" + ".".join(syllables[start:end]))
    if words or not readings.readings:
        for word in _fold(value).split():
            letters = "".join(ch for ch in word if ch.isalnum())[:MAX_PREFIX_LETTERS]
            for end in range(MIN_PREFIX_LETTERS, len(letters) + 1):
                forms.add("w:" + letters[:end])
    return forms


def query_partial_alternatives(query: str) -> list[frozenset[str]]:
    """What a query looks for by part of a name: alternatives, each a set of partial forms a
    record must all have to match. One per reading of the query's syllables in a row (two or
    more): the run and every shorter run within it, which any name holding the run holds too;
    and one for its words (three letters or more each): every word's prefixes, so that a record
    matches when each word starts one of its words ("Yanji three" finds "Yanji three", not
    "Hunchun three").

    Asking for all of an alternative's forms, not one, is what keeps a search by a whole name
    cheap: a single bucket holds a few hundred strangers at 100,000 people, each decrypted to be
    checked, while few strangers share the buckets of all of a name's runs."""
    alternatives: list[frozenset[str]] = []
    readings = normalise_name(query)
    if readings.readings:
        for key in readings.keys:
            syllables = [s for s in key.replace(" ", ".").split(".") if s][:MAX_PART_SYLLABLES]
            if len(syllables) >= MIN_PART_SYLLABLES:
                alternatives.append(
                    frozenset(
                        "k:" + ".".join(syllables[start:end])
                        for start in range(len(syllables))
                        for end in range(start + MIN_PART_SYLLABLES, len(syllables) + 1)
                    )
                )
    words: set[str] = set()
    for word in _fold(query).split():
        letters = "".join(ch for ch in word if ch.isalnum())[:MAX_PREFIX_LETTERS]
        words.update("w:" + letters[:end] for end in range(MIN_PREFIX_LETTERS, len(letters) + 1))
    if words:
        alternatives.append(frozenset(words))
    return list(dict.fromkeys(alternatives))


def _may_hold(purpose: str, alternative: frozenset[str]) -> bool:
    """Whether values of ``purpose`` can hold every form of ``alternative``. A word's prefix
    with a Hangul syllable in it is held only where the words of every value are kept (a
    broker's alias): any other value with Hangul in it reads as Korean, and keeps the runs of
    its syllables instead (:func:`partial_forms`)."""
    # Without this, a one-word Hangul query (김순호) also looked for the bucket of its one
    # prefix form, which a few hundred strangers hold at 100,000 people: each was decrypted to
    # be checked, and none could match, on every such search.
    if purpose == SearchPurpose.BROKER:
        return True
    return not any(form.startswith("w:") and any(map(is_syllable, form)) for form in alternative)


def _bucket_form(ctx: KeyContext, purpose: str, form: str) -> str:
    """The stored stand-in for one partial form: the number of its bucket."""
    digest = ctx.index_token(purpose, _PARTIAL + form)
    return f"{_PARTIAL}#{int.from_bytes(digest[:4], 'big') % PARTIAL_BUCKETS}"


def phone_forms(value: str) -> list[str]:
    """The digits of each phone-number-like run in ``value`` with at least six digits."""
    forms = []
    for run in _PHONE_RUN.findall(value[:2_000]):
        digits = "".join(ch for ch in run if ch.isdigit())
        if MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
            forms.append(digits)
    return list(dict.fromkeys(forms))


def normalised_forms(purpose: str, value: str) -> list[str]:
    """The normalised forms of one value for one purpose (see :class:`SearchPurpose`)."""
    if not isinstance(value, str):
        return []
    if purpose == SearchPurpose.PHONE:
        return phone_forms(value)
    if purpose in NAME_PURPOSES:
        return name_forms(value)
    raise ValueError(f"unknown search purpose {purpose!r}")


# --- The index key -----------------------------------------------------------------------------


def index_key_active() -> SearchIndexKey | None:
    return SearchIndexKey.objects.filter(active=True).first()


def index_key_create(
    *, ctx: KeyContext | None, staff_key: TeamKey, recovery_public: bytes, active: bool = True
) -> SearchIndexKey:
    """The organisation's index key, sealed to the all-staff key and to the recovery key (public
    halves only are needed). Gives ``ctx`` the key when it holds the all-staff key. Refused if an
    active generation exists (rotating it means re-indexing every record). Call inside the
    caller's transaction (``org_keys_setup``).

    With ``active=False``: the next generation of a rotation (:mod:`haven.vault.index_rotation`),
    which searches and writes ignore until the rotation switches to it."""
    if active and SearchIndexKey.objects.filter(active=True).exists():
        raise ValidationError("The organisation's index key exists already.")
    previous = SearchIndexKey.objects.order_by("-generation").first()
    key = IndexKey.generate()
    now = timezone.now()
    index_key = SearchIndexKey.objects.create(
        generation=(previous.generation + 1) if previous is not None else 1,
        recovery_sealed=key.seal_to(recovery_public),
        active=active,
        created_at=now,
    )
    integrity.team_key_check(staff_key)
    sealed = key.seal_to(bytes(staff_key.public_key))
    copy = IndexKeyCopy(index_key=index_key, team_key=staff_key, sealed=sealed, created_at=now)
    integrity.index_key_copy_tag(copy)
    copy.save(force_insert=True)
    if ctx is not None and staff_key.ref in ctx.holder_refs():
        ctx.add_index_share(staff_key.ref, sealed)
    return index_key


def index_share_load(ctx: KeyContext, *, generation: int | None = None) -> bool:
    """Give ``ctx`` the active index key (or that ``generation``, for a rotation) if it holds a
    team key a copy is sealed to (opened on first use); returns whether it did. Called by
    :func:`haven.vault.context.context_for`."""
    team_ids = [ref[2:] for ref in ctx.holder_refs() if ref.startswith("t:")]
    if not team_ids:
        return False
    copies = IndexKeyCopy.objects.filter(team_key_id__in=team_ids)
    copy = (
        (
            copies.filter(index_key__active=True)
            if generation is None
            else copies.filter(index_key_id=generation)
        )
        .order_by("-team_key__active", "-created_at")
        .first()
    )
    if copy is None:
        return False
    # An index key a database writer slipped in would turn every search into their dictionary.
    integrity.index_key_copy_check(copy)
    ctx.add_index_share(f"t:{copy.team_key_id}", bytes(copy.sealed))
    return True


# --- Writing and reading tokens ----------------------------------------------------------------


def _tokens(ctx: KeyContext, values: Mapping[str, Iterable[str]]) -> set[tuple[str, bytes]]:
    tokens: set[tuple[str, bytes]] = set()
    for purpose, raw in values.items():
        purpose = SearchPurpose(purpose)
        forms: dict[str, None] = {}
        for value in list(raw)[:MAX_VALUES_PER_PURPOSE]:
            forms.update(dict.fromkeys(normalised_forms(purpose, value)))
            if purpose in NAME_PURPOSES and isinstance(value, str):
                forms.update(
                    dict.fromkeys(
                        _bucket_form(ctx, purpose.value, part)
                        for part in partial_forms(value, words=purpose == SearchPurpose.BROKER)
                    )
                )
        tokens.update((purpose.value, ctx.index_token(purpose.value, form)) for form in forms)
    return tokens


def search_tokens_compute(
    ctx: KeyContext, values: Mapping[str, Iterable[str]]
) -> set[tuple[str, bytes]]:
    """The (purpose, token) pairs of ``values`` under the index key ``ctx`` holds, normalised as
    :func:`search_tokens_set` does (for a rotation, which stores them under its new generation)."""
    return _tokens(ctx, values)


def search_tokens_set(
    *, ctx: KeyContext, data_key_id: Any, values: Mapping[str, Iterable[str]]
) -> int:
    """Replace the search tokens of one data key with those of ``values`` (purpose → the raw
    values; normalised here). Returns how many tokens are stored. Runs in the caller's transaction.

    When the acting context cannot compute tokens:

    * the organisation has no index key at all (set up before blind indexes): nothing is done;
    * the person does not hold the all-staff key (yet: a supervisor has not shared it with a new
      colleague, or shared it again after a password reset): recording the request or the broker
      must not fail for that, so the record keeps whatever tokens it had and is marked pending
      (:class:`~haven.vault.models.SearchIndexPending`); the next search by someone who holds
      the index key and can open the record indexes it.
    """
    index_key = index_key_active()
    if index_key is None:
        return 0
    if not ctx.holds_index_key():
        SearchIndexPending.objects.get_or_create(
            data_key_id=data_key_id, defaults={"since": timezone.now()}
        )
        return 0
    tokens = _tokens(ctx, values)
    SearchToken.objects.filter(data_key_id=data_key_id).delete()
    SearchToken.objects.bulk_create(
        [
            SearchToken(generation=index_key, purpose=purpose, token=token, data_key_id=data_key_id)
            for purpose, token in sorted(tokens)
        ]
    )
    SearchIndexPending.objects.filter(data_key_id=data_key_id).delete()
    return len(tokens)


def search_tokens_build(
    *,
    ctx: KeyContext,
    values_by_key: Mapping[Any, Mapping[str, Iterable[str]]],
    index_key: SearchIndexKey | None,
    rows: Rows,
) -> int:
    """:func:`search_tokens_set` for data keys made with the caller's new rows (they have no
    tokens to replace): every key's tokens, or pending marks when this context does not hold the
    index key, added to ``rows``. Returns how many tokens there are. ``index_key``: the active
    one (:func:`index_key_active`), read once by the caller for all its writes."""
    if index_key is None or not values_by_key:
        return 0
    if not ctx.holds_index_key():
        now = timezone.now()
        rows.extend(SearchIndexPending(data_key_id=key_id, since=now) for key_id in values_by_key)
        return 0
    # As values, not model objects: a person has a score of tokens, and building an object for
    # each cost more than computing the token (the statements are the same, tests/db).
    tokens = [
        (index_key.pk, purpose, token, key_id)
        for key_id, values in values_by_key.items()
        for purpose, token in sorted(_tokens(ctx, values))
    ]
    rows.add_values(SearchToken, ("generation_id", "purpose", "token", "data_key_id"), tokens)
    return len(tokens)


def search_tokens_move(*, old_key_id: Any, new_key_id: Any) -> None:
    """Give a rotated record's new data key the tokens (and pending mark) of the old one; the
    old key's are deleted with it when it is shredded."""
    SearchToken.objects.bulk_create(
        [
            SearchToken(
                generation_id=generation, purpose=purpose, token=token, data_key_id=new_key_id
            )
            for generation, purpose, token in SearchToken.objects.filter(
                data_key_id=old_key_id
            ).values_list("generation_id", "purpose", "token")
        ]
    )
    since = (
        SearchIndexPending.objects.filter(data_key_id=old_key_id)
        .values_list("since", flat=True)
        .first()
    )
    if since is not None:
        SearchIndexPending.objects.get_or_create(data_key_id=new_key_id, defaults={"since": since})


def search_data_keys(
    *,
    ctx: KeyContext,
    purposes: Iterable[str],
    query: str,
    index_key: SearchIndexKey | None = None,
) -> QuerySet[SearchToken, Any] | None:
    """Ids of the data keys with a token equal to one of the query's, for these purposes (a
    subquery for list filters). None when the query normalises to nothing (no letters or digits).
    ``index_key``: the active one, when the caller has read it already (:func:`index_key_active`).

    Raises :class:`SearchUnavailableError` when the organisation has no index key, and
    :class:`~haven.crypto.MissingKeyError` when ``ctx`` does not hold it.
    """
    index_key = index_key or index_key_active()
    if index_key is None:
        raise SearchUnavailableError(
            {"q": "Search by name is not set up for this organisation (it has no index key)."}
        )
    tokens = {
        ctx.index_token(purpose, form)
        for purpose in {SearchPurpose(p).value for p in purposes}
        for form in normalised_forms(purpose, query)
    }
    if not tokens:
        return None
    return (
        SearchToken.objects.filter(
            generation=index_key,
            purpose__in=[SearchPurpose(p).value for p in purposes],
            token__in=tokens,
        )
        .values("data_key_id")
        .distinct()
    )


def search_partial_data_keys(
    *,
    ctx: KeyContext,
    purposes: Iterable[str],
    query: str,
    limit: int,
    index_key: SearchIndexKey | None = None,
) -> tuple[list[str] | QuerySet[Any, Any] | None, list[frozenset[str]]]:
    """Candidates for a search by part of a name: the data keys that hold, for one purpose,
    the buckets of all the forms of one alternative of :func:`query_partial_alternatives`; and
    the alternatives, which each candidate must be checked against (a bucket holds other parts
    too). The keys come as a list of ids when there are at most ``limit``, else as a subquery
    (every holder, whoever may see them: the caller narrows it). ``(None, [])`` when the query
    has no partial form (a single syllable, a word shorter than three letters). ``index_key``
    as for :func:`search_data_keys`."""
    index_key = index_key or index_key_active()
    if index_key is None:
        raise SearchUnavailableError(
            {"q": "Search by name is not set up for this organisation (it has no index key)."}
        )
    wanted = [SearchPurpose(p).value for p in purposes if SearchPurpose(p) in NAME_PURPOSES]
    alternatives = query_partial_alternatives(query)
    if not alternatives or not wanted:
        return None, []
    parts: list[QuerySet[Any, Any]] = []
    for alternative in alternatives:
        for purpose in wanted:
            if not _may_hold(purpose, alternative):
                continue
            tokens = {ctx.index_token(purpose, _bucket_form(ctx, purpose, f)) for f in alternative}
            # A data key's tokens are unique per purpose: counting its rows among these tokens
            # counts the distinct buckets it holds (two forms may share one bucket).
            parts.append(
                SearchToken.objects.filter(generation=index_key, purpose=purpose, token__in=tokens)
                .values("data_key_id")
                .annotate(held=Count("pk"))
                .filter(held=len(tokens))
                .values_list("data_key_id", flat=True)
            )
    if not parts:
        return None, []
    # Read as a list, not kept as a subquery: filtering cases by a subquery of tokens (with the
    # grants' check and the list's order) led PostgreSQL to walk the cases in order, a second
    # or more per search at 100,000 cases; a short list of ids is looked up by its index.
    found = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    ids = list(found[: limit + 1])
    if len(ids) > limit:
        # More holders than a list should carry (a common part at a large size): cutting the
        # list here, before the caller's check of who may see them, would let strangers who
        # hold the same buckets crowd out the searcher's own cases. Left to the database.
        return found, alternatives
    return [str(key_id) for key_id in ids], alternatives


def pending_data_keys(*, ctx: KeyContext, limit: int) -> list[str]:
    """Data keys of records written without search tokens that ``ctx`` holds a grant for,
    oldest first."""
    from haven.vault.sealed import holder_filter

    # Correlated per pending row: the pending table is small, while the grants a team or
    # supervisor key holds number in the hundreds of thousands (an IN over them was built on
    # every search, a third of the staff server's time under a working day's load).
    held = Grant.objects.filter(
        holder_filter(ctx), stale=False, data_key_id=OuterRef("data_key_id")
    )
    return [
        str(key_id)
        for key_id in SearchIndexPending.objects.filter(Exists(held))
        .order_by("since")
        .values_list("data_key_id", flat=True)[:limit]
    ]
