"""`haven keys rotate-index`: rebuild every blind-index token under a new index key.

When the index key may have been exposed (someone who held the all-staff key left with a copy,
a database dump travelled with a key), a supervisor replaces it:

1. a new :class:`~haven.vault.models.SearchIndexKey` generation is created, sealed like the first
   one (to the active all-staff key and to the recovery key) but *not active*: searches and
   writes go on using the active generation, so search never breaks half-way;
2. in batches, each its own transaction, every person's and broker's searchable values are read
   with the supervisor's keys and their tokens computed under the new key, beside the old ones;
   interrupted, a second run resumes with the records that have no new tokens yet;
3. one final transaction indexes what was written meanwhile (records written or changed during
   the rotation carry tokens of the active generation only), makes the new generation active and
   deletes the old one with its tokens and copies.

Nothing decrypted here is shown to anyone or leaves memory as anything but tokens; the audit trail
records the start and the switch (generations and counts only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from haven import access
from haven.audit.services import audit_record
from haven.crypto import CryptoError, KeyContext
from haven.db.statistics import statistics_refresh
from haven.vault import holders as h
from haven.vault.context import context_for
from haven.vault.index import index_key_create, index_share_load, search_tokens_compute
from haven.vault.models import (
    DataKey,
    IndexKeyCopy,
    SearchIndexKey,
    SearchIndexPending,
    SearchToken,
    TeamKey,
    TeamKeyKind,
    UserKey,
)
from haven.vault.sealed import data_keys_unlock, payload_read, recovery_public_key
from haven.vault.services import user_key_open

if TYPE_CHECKING:
    from haven.accounts.models import User

# A value nobody indexes: its token tells the new key from the old one without opening anything.
_PROBE = ("name", "haven index rotation probe")


@dataclass
class IndexRotation:
    """What one run of :func:`index_key_rotate` did."""

    old_generation: int
    new_generation: int
    resumed: bool
    indexed: int  # records (data keys) given tokens under the new key in this run
    late: int  # of which written during the rotation, indexed in the final transaction
    unreadable: int  # records the supervisor could not open: left to be indexed by the next search
    tokens_removed: int  # tokens of the old generation deleted with it

    def __str__(self) -> str:
        text = (
            f"{'Resumed the rotation' if self.resumed else 'Rotated the search index key'}: "
            f"generation {self.new_generation} replaces generation {self.old_generation}. "
            f"{self.indexed} records were indexed under the new key in this run "
            f"({self.late} of them written during the rotation); {self.tokens_removed} tokens of "
            f"the old key were deleted with it."
        )
        if self.unreadable:
            text += (
                f" {self.unreadable} records could not be opened with your keys: they are marked "
                "to be indexed by the next search of someone who can open them."
            )
        return text


def index_key_rotate(
    *,
    supervisor: User,
    password: str,
    batch: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> IndexRotation:
    """Replace the organisation's index key and rebuild every token under the new one (or resume
    a replacement under way). ``progress(done, total)`` is called after each batch.

    Refused (PermissionDenied) unless ``supervisor`` is an active supervisor holding the all-staff
    key; (ValidationError) when the organisation has no index key or no all-staff key. A wrong
    password raises :class:`~haven.crypto.CryptoError` before anything is changed.
    """
    if batch < 1:
        raise ValidationError("The batch size must be at least 1.")
    if not access.allowed(supervisor, "keys.manage"):
        raise PermissionDenied("Only an active supervisor can replace the search index key.")
    if not SearchIndexKey.objects.filter(active=True).exists():
        raise ValidationError(
            "The organisation has no search index key to replace (it was set up before blind "
            "indexes)."
        )
    if not UserKey.objects.filter(user=supervisor).exists():
        raise PermissionDenied(f"{supervisor.username} has no key pair yet (log in once first).")
    key = user_key_open(user=supervisor, password=password)  # a wrong password stops here
    current = context_for(supervisor, key)  # holds the active generation, for the probe only
    staff = h.system_key(TeamKeyKind.STAFF)
    if staff is None:
        raise ValidationError("The organisation's keys are not set up: run `haven setup`.")
    if staff.ref not in current.holder_refs() or not current.holds_index_key():
        raise PermissionDenied(
            "You do not hold the all-staff key, so you cannot compute search tokens."
        )

    old, new, resumed = _start(supervisor=supervisor, staff=staff)
    # A context of the supervisor's keys whose index key is the *new* generation: context_for
    # only records the active one's sealed copy (opened on first use), which this replaces.
    ctx = context_for(supervisor, key)
    try:
        if not index_share_load(ctx, generation=new.generation) or ctx.index_token(
            *_PROBE
        ) == current.index_token(*_PROBE):
            raise PermissionDenied("You hold no copy of the new index key.")
        current.forget()
        indexed = _rebuild(ctx=ctx, new=new, batch=batch, progress=progress)
        late, unreadable, removed = _finish(supervisor=supervisor, ctx=ctx, old=old, new=new)
    finally:
        current.forget()
        ctx.forget()
    statistics_refresh(models=[SearchToken, SearchIndexPending])
    return IndexRotation(
        old_generation=old.generation,
        new_generation=new.generation,
        resumed=resumed,
        indexed=indexed + late,
        late=late,
        unreadable=unreadable,
        tokens_removed=removed,
    )


# --- Step 1: the new generation ----------------------------------------------------------------


def _pending_generation(active: SearchIndexKey) -> SearchIndexKey | None:
    return (
        SearchIndexKey.objects.filter(active=False, generation__gt=active.generation)
        .order_by("-generation")
        .first()
    )


@transaction.atomic
def _start(*, supervisor: User, staff: TeamKey) -> tuple[SearchIndexKey, SearchIndexKey, bool]:
    """The active generation and the rotation's new one: created, or the one under way."""
    active = SearchIndexKey.objects.select_for_update().get(active=True)
    pending = _pending_generation(active)
    if (
        pending is not None
        and IndexKeyCopy.objects.filter(index_key=pending, team_key=staff).exists()
    ):
        return active, pending, True
    new = index_key_create(
        ctx=None, staff_key=staff, recovery_public=recovery_public_key(), active=False
    )
    if pending is not None:
        # The all-staff key was replaced since the rotation began, so the key under way is sealed
        # to a generation someone who left may hold: start again with one sealed to the current
        # key (created first, so that generation numbers are never reused).
        pending.delete()  # with its tokens and copies
        audit_record(
            actor=supervisor,
            action="search.index_rotate_abandon",
            detail={"generation": pending.generation},
        )
    audit_record(
        actor=supervisor,
        action="search.index_rotate_start",
        detail={"old_generation": active.generation, "new_generation": new.generation},
    )
    return active, new, False


# --- Step 2: the tokens under the new key, in batches ------------------------------------------


def _searchable_keys() -> QuerySet[DataKey]:
    """The data keys of every record with searchable values (people, brokers, groups)."""
    from haven.cases.search import searchable

    kinds = Q()
    for model, _extract in searchable():
        kinds |= Q(pk__in=model.objects.values("data_key_id"))
    return DataKey.objects.filter(kinds)


def _without_tokens_of(generation: SearchIndexKey) -> QuerySet[DataKey]:
    return _searchable_keys().exclude(
        pk__in=SearchToken.objects.filter(generation=generation).values("data_key_id")
    )


def _rebuild(
    *,
    ctx: KeyContext,
    new: SearchIndexKey,
    batch: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    """Give every record without tokens of ``new`` its tokens under it, ``batch`` records per
    transaction. Records that cannot be opened are passed over (the final step marks them)."""
    total = _searchable_keys().count()
    done = total - _without_tokens_of(new).count()
    indexed = 0
    after: Any = None
    ran = False
    while True:
        with transaction.atomic():
            # Serialises two runs of the rotation; normal writes never touch this row.
            if (
                not SearchIndexKey.objects.select_for_update()
                .filter(pk=new.pk, active=False)
                .exists()
            ):
                raise ValidationError("The search index key was replaced meanwhile (another run).")
            todo = _without_tokens_of(new)
            if after is not None:
                todo = todo.filter(pk__gt=after)
            ids = list(todo.order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                break
            indexed += len(_index(ctx=ctx, generation=new, key_ids=ids))
        after, ran = ids[-1], True
        done += len(ids)
        total = max(total, done)  # records written meanwhile
        if progress is not None:
            progress(done, total)
    if progress is not None and not ran:
        progress(done, total)
    return indexed


def _index(*, ctx: KeyContext, generation: SearchIndexKey, key_ids: Iterable[Any]) -> list[str]:
    """Store, under ``generation``, the tokens of the records under these data keys that ``ctx``
    opens (beside any other generation's). Returns the data keys indexed. In the caller's
    transaction."""
    from haven.cases.search import searchable

    wanted = [str(key_id) for key_id in key_ids]
    data_keys_unlock(ctx=ctx, key_ids=wanted)
    opened = [key_id for key_id in wanted if ctx.has_data_key(key_id)]
    values: dict[str, dict[str, list[str]]] = {key_id: {} for key_id in opened}
    records: list[tuple[Any, Callable[[dict[str, Any]], dict[str, list[str]]]]] = [
        (record, extract)
        for model, extract in searchable()
        for record in model.objects.filter(data_key_id__in=opened)
    ]
    failed: set[str] = set()
    for record, extract in records:
        key_id = str(record.data_key_id)
        try:
            found = extract(payload_read(ctx=ctx, record=record))
        except CryptoError:
            failed.add(key_id)  # fails its integrity check: left unindexed, and unread
            continue
        for purpose, items in found.items():
            values[key_id].setdefault(purpose, []).extend(items)
    indexed = [key_id for key_id in opened if key_id not in failed]
    SearchToken.objects.filter(generation=generation, data_key_id__in=indexed).delete()
    SearchToken.objects.bulk_create(
        [
            SearchToken(generation=generation, purpose=purpose, token=token, data_key_id=key_id)
            for key_id in indexed
            for purpose, token in sorted(search_tokens_compute(ctx, values[key_id]))
        ]
    )
    return indexed


# --- Step 3: the switch ------------------------------------------------------------------------


@transaction.atomic
def _finish(
    *, supervisor: User, ctx: KeyContext, old: SearchIndexKey, new: SearchIndexKey
) -> tuple[int, int, int]:
    """Index what was written meanwhile, make ``new`` the active generation and delete ``old``
    with its tokens and copies. Returns (late records indexed, records left unread, tokens
    deleted)."""
    active = SearchIndexKey.objects.select_for_update().filter(active=True).first()
    pending = SearchIndexKey.objects.select_for_update().filter(pk=new.pk, active=False).first()
    if active is None or active.pk != old.pk or pending is None:
        raise ValidationError("The search index key was replaced meanwhile (another run).")
    staff = h.system_key(TeamKeyKind.STAFF)
    if staff is None or not IndexKeyCopy.objects.filter(index_key=new, team_key=staff).exists():
        raise ValidationError(
            "The all-staff key was replaced during the rotation: run it again (it starts over "
            "with a new key sealed to the current all-staff key)."
        )
    # Written or changed during the rotation: tokens of the old generation only.
    late = list(
        _without_tokens_of(new)
        .filter(pk__in=SearchToken.objects.filter(generation=old).values("data_key_id"))
        .values_list("pk", flat=True)
    )
    indexed = _index(ctx=ctx, generation=new, key_ids=late)
    # Records the supervisor cannot open lose their old tokens with the old key: the next search
    # by someone who can open them indexes them (as for records written without the index key).
    unread = (
        _searchable_keys()
        .filter(pk__in=SearchToken.objects.filter(generation=old).values("data_key_id"))
        .exclude(pk__in=SearchToken.objects.filter(generation=new).values("data_key_id"))
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    unreadable = 0
    for key_id in list(unread):
        SearchIndexPending.objects.get_or_create(data_key_id=key_id, defaults={"since": now})
        unreadable += 1
    removed = SearchToken.objects.filter(generation=old).count()
    # Deleting the row (not only retiring it) makes a write that read the old generation before
    # this commit fail on its foreign key rather than store tokens no search would look at.
    SearchToken.objects.filter(generation=old).delete()
    IndexKeyCopy.objects.filter(index_key=old).delete()
    SearchIndexKey.objects.filter(pk=old.pk).delete()
    SearchIndexKey.objects.filter(pk=new.pk).update(active=True)
    new.active = True
    audit_record(
        actor=supervisor,
        action="search.index_rotate",
        detail={
            "old_generation": old.generation,
            "new_generation": new.generation,
            "late": len(indexed),
            "unreadable": unreadable,
            "tokens_removed": removed,
        },
    )
    return len(indexed), unreadable, removed
