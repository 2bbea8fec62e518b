"""One owner for a case's keys: which records live under a case's or a request's keys, and the
four things done to all of them together — grant, revoke, rotate and destroy.

Each app declares its sealed models here from its ``AppConfig.ready()``:

* :func:`case_scoped` — rows that belong to one case (a journey event, a note, a consent, a
  referral). Rows sealed under the case's own data key are re-sealed when it is rotated; rows
  with a key of their own (a sent referral's packet) are granted, revoked and destroyed with
  the case.
* :func:`request_scoped` — rows that belong to one request (its conversation and messages, its
  files). Their keys travel with the request's key: granted with any of its cases, revoked only
  when the holder keeps no other case of the request, destroyed with the request's last case.
* :func:`group_scoped` — rows that belong to one group (the group's cover values). They have keys
  of their own, held by others than the case's holders (the press office): never granted or
  revoked with a case, destroyed with the group (when its request's last case goes).
* :func:`exempt` — a model with a data key that is neither, with the reason (a broker's record,
  a grant, which *is* a copy of a key).

A case-scoped model declared with ``travels=False`` has keys of its own held by others than the
case's holders (a case's cover values, sealed to the press office): destroyed with the case, but
never granted, revoked or rotated with it.

A model with a data key that is none of these fails ``tests/cases/test_keyset.py``, so a new
sealed record cannot be forgotten by revocation or deletion. Nothing here opens a payload except
rotation, which re-seals; every function runs inside the caller's transaction, and the caller
checks permission and writes the audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.apps import apps
from django.db import models
from django.db.models import QuerySet

if TYPE_CHECKING:
    from haven.accounts.models import User
    from haven.cases.models import Case
    from haven.crypto import KeyContext
    from haven.vault.models import TeamKey

Scope = Literal["case", "request", "group"]


@dataclass(frozen=True)
class Member:
    """A model whose rows live under a case's, a request's or a group's keys."""

    model: type[models.Model]
    scope: Scope
    # The foreign key from the model to its case, request or group.
    link: str
    # Whether the rows' own keys go with the case's holders (granted and revoked with it).
    travels: bool = True

    def rows(self, owner_id: Any) -> QuerySet[Any]:
        return self.model._default_manager.filter(**{f"{self.link}_id": owner_id})


_members: list[Member] = []
_exempt: dict[type[models.Model], str] = {}


def case_scoped(model: type[models.Model], *, link: str = "case", travels: bool = True) -> None:
    """Declare ``model`` as records of one case. Declare dependants before what they point to:
    rows are destroyed in the order declared. ``travels=False``: rows with keys of their own that
    the case's holders do not get (destroyed with the case all the same)."""
    _add(Member(model=model, scope="case", link=link, travels=travels))


def request_scoped(model: type[models.Model], *, link: str = "request") -> None:
    """Declare ``model`` as records of one request (destroyed with its last case), dependants
    first, as for :func:`case_scoped`."""
    _add(Member(model=model, scope="request", link=link))


def group_scoped(model: type[models.Model], *, link: str = "group") -> None:
    """Declare ``model`` as records of one group, with keys of their own: destroyed with the
    group, never granted or revoked with its cases."""
    _add(Member(model=model, scope="group", link=link, travels=False))


def exempt(model: type[models.Model], *, reason: str) -> None:
    """Declare that ``model`` has a data key but lives outside any case or request."""
    if not reason.strip():
        raise ValueError("say why the model is exempt")
    _exempt[model] = reason


def _add(member: Member) -> None:
    if any(
        (m.model, m.scope, m.link) == (member.model, member.scope, member.link) for m in _members
    ):
        return  # ready() may run more than once (tests that reload apps)
    _members.append(member)


def members(scope: Scope) -> list[Member]:
    return [m for m in _members if m.scope == scope]


def undeclared_models() -> list[type[models.Model]]:
    """Concrete models holding a data key that are neither declared nor exempt (should be none).

    The anchors themselves (case, person, request, group) are handled by this module directly."""
    from haven.cases.models import Case, Group, Person, Request
    from haven.vault.models import DataKey

    handled = {Case, Person, Request, Group, *(m.model for m in _members), *_exempt}
    missing = []
    for model in apps.get_models():
        has_key = any(
            isinstance(f, models.ForeignKey) and f.related_model is DataKey
            for f in model._meta.get_fields()
        )
        if has_key and model not in handled:
            missing.append(model)
    return missing


# --- Which keys go with a case ------------------------------------------------------------------


def _request_key_ids(request_id: Any) -> list[str]:
    """The request's own key and the keys of every request-scoped record (conversation, files)."""
    from haven.cases.models import Request

    ids: list[str] = []
    own = Request.objects.filter(pk=request_id).values_list("data_key_id", flat=True).first()
    if own is not None:
        ids.append(str(own))
    for member in members("request"):
        for key_id in member.rows(request_id).values_list("data_key_id", flat=True).distinct():
            if str(key_id) not in ids:
                ids.append(str(key_id))
    return ids


def _case_own_key_ids(case: Case, *, travelling: bool = True) -> list[str]:
    """Keys of case-scoped records that have one of their own (not the case's key): those that go
    with the case's holders, or (``travelling=False``) every one, to destroy."""
    ids: list[str] = []
    for member in members("case"):
        if travelling and not member.travels:
            continue
        for key_id in (
            member.rows(case.pk)
            .exclude(data_key_id=case.data_key_id)
            .values_list("data_key_id", flat=True)
            .distinct()
        ):
            if str(key_id) not in ids:
                ids.append(str(key_id))
    return ids


def case_key_ids(*, ctx: KeyContext, case: Case) -> list[str]:
    """The data keys a case's holders need: the case's own, and those of its request (with the
    request's conversation and files), its group and its records with keys of their own that the
    acting person holds (so that a grant never fails half-way)."""
    from haven.vault.sealed import data_keys_unlock

    ids = [str(case.data_key_id)]
    candidates = []
    if case.request_id is not None:
        candidates += _request_key_ids(case.request_id)
    if case.group is not None:
        candidates.append(str(case.group.data_key_id))
    candidates += _case_own_key_ids(case)
    extra: list[str] = []
    for key_id in candidates:
        if key_id not in ids and key_id not in extra:
            extra.append(key_id)
    data_keys_unlock(ctx=ctx, key_ids=extra)
    ids += [key_id for key_id in extra if ctx.has_data_key(key_id)]
    return ids


def case_revocable_key_ids(*, ctx: KeyContext, case: Case, holder: User | TeamKey) -> list[str]:
    """The case's keys to take from ``holder``: its own and its own-keyed records', and its
    request's (with the request's records') and group's only if the holder keeps no other case
    of that request or group."""
    from haven.accounts.models import User
    from haven.cases.models import Case
    from haven.vault.holders import user_grants
    from haven.vault.models import Grant

    ids = case_key_ids(ctx=ctx, case=case)
    shared: dict[str, QuerySet[Case]] = {}
    if case.request_id is not None:
        siblings = Case.objects.filter(request_id=case.request_id)
        for key_id in _request_key_ids(case.request_id):
            shared[key_id] = siblings
    if case.group is not None:
        shared[str(case.group.data_key_id)] = Case.objects.filter(group=case.group)
    held = (
        user_grants(holder)
        if isinstance(holder, User)
        else Grant.objects.filter(team_key=holder, stale=False)
    )
    for key_id, siblings in shared.items():
        if key_id not in ids:
            continue
        # The few siblings' keys as a list: as a subquery, SQLite walked every grant of the
        # holder's team keys instead (tens of thousands; 125 ms a revoke at 100,000 cases).
        others = list(siblings.exclude(pk=case.pk).values_list("data_key_id", flat=True))
        if others and held.filter(data_key_id__in=others).exists():
            ids.remove(key_id)
    return ids


# --- Rotating a case's key ----------------------------------------------------------------------


def case_records(case: Case) -> list[Any]:
    """Every record sealed under the case's data key but the case itself, locked for update."""
    from haven.cases.models import Person

    key_id = case.data_key_id
    records: list[Any] = [Person.objects.select_for_update().get(pk=case.person_id)]
    for member in members("case"):
        records += list(
            member.rows(case.pk).select_for_update().filter(data_key_id=key_id).order_by("pk")
        )
    return records


def case_rekey(*, ctx: KeyContext, actor: User, case: Case) -> Case:
    """Give a case a new data key with the same holders, re-seal every record under the old one
    with it, and destroy the old one. Returns the case as stored now."""
    from haven.cases.models import Case
    from haven.vault.sealed import record_update
    from haven.vault.services import data_key_rotate, data_key_shred

    old_key = case.data_key
    new_key = data_key_rotate(ctx=ctx, actor=actor, old=old_key)
    case = Case.objects.select_for_update().get(pk=case.pk)
    for record in case_records(case):
        record_update(
            ctx=ctx, record=record, expected_version=record.version, fields={"data_key": new_key}
        )
    record_update(ctx=ctx, record=case, expected_version=case.version, fields={"data_key": new_key})
    data_key_shred(key_id=old_key.pk)
    return case


# --- Destroying -----------------------------------------------------------------------------------


def case_shred(*, case: Case) -> None:
    """Destroy a case: every case-scoped record (in the order declared), the case, its person and
    their search tokens, and every copy of the case's key and of its records' own keys, the
    recovery copies included. Needs no key (nothing is opened)."""
    from haven.cases.models import Case, Person
    from haven.vault.services import data_key_shred

    own_keys = _case_own_key_ids(case, travelling=False)
    for member in members("case"):
        member.rows(case.pk).delete()
    person_id, key_id = case.person_id, case.data_key_id
    Case.objects.filter(pk=case.pk).delete()
    Person.objects.filter(pk=person_id).delete()
    for own_key in own_keys:
        data_key_shred(key_id=own_key)
    data_key_shred(key_id=key_id)


def request_shred_if_empty(*, request_id: Any) -> bool:
    """Destroy a request once no case of it is left: its groups left without cases, every
    request-scoped record (in the order declared), and every copy of their keys and the
    request's. Returns whether it did."""
    from haven.cases.models import Case, Group, Request
    from haven.vault.services import data_key_shred

    if Case.objects.filter(request_id=request_id).exists():
        return False
    request = Request.objects.filter(pk=request_id).first()
    if request is None:
        return False
    for group in Group.objects.filter(request=request):
        if not Case.objects.filter(group=group).exists():
            group_shred(group=group)
    keys = _request_key_ids(request.pk)
    for member in members("request"):
        member.rows(request.pk).delete()
    request.delete()
    for key_id in keys:
        data_key_shred(key_id=key_id)
    return True


def group_shred(*, group: Any) -> None:
    """Destroy a group left without cases: its group-scoped records (in the order declared) and
    every copy of their keys and the group's. Needs no key."""
    from haven.vault.services import data_key_shred

    keys: list[str] = []
    for member in members("group"):
        for key_id in member.rows(group.pk).values_list("data_key_id", flat=True).distinct():
            if str(key_id) not in keys:
                keys.append(str(key_id))
        member.rows(group.pk).delete()
    group_key = group.data_key_id
    group.delete()
    for key_id in keys:
        data_key_shred(key_id=key_id)
    data_key_shred(key_id=group_key)
