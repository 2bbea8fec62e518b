"""Key custody: setting up the organisation's keys, people's key pairs, team keys and grants.

Every service that changes who holds what writes its audit entry in the same transaction. None of
them sees a key: they pass opaque :class:`~haven.crypto.PersonalKey` objects and sealed bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from haven.audit.services import audit_record
from haven.crypto import (
    KeyContext,
    MissingKeyError,
    PersonalKey,
    erasure_store,
    recovery_key_create,
    seal_to_public_key,
)
from haven.vault import holders as h
from haven.vault import integrity
from haven.vault.index import index_key_create, search_tokens_move
from haven.vault.models import (
    DataKey,
    ErasedKey,
    Grant,
    KeyShare,
    OrgKeys,
    TeamKey,
    TeamKeyKind,
    UserKey,
)
from haven.vault.sealed import holder_public_keys, recovery_public_key

if TYPE_CHECKING:
    from haven.accounts.models import Team, User
    from haven.referrals.models import Partner


@dataclass
class OrgSetup:
    """What `haven setup` shows once: the recovery words, and a context holding the new team keys
    so that they can be shared with the first supervisor in the same step."""

    recovery_words: list[str]
    ctx: KeyContext


def _team_key_new(
    *, kind: str, team: Team | None = None, partner: Partner | None = None
) -> tuple[TeamKey, PersonalKey]:
    key = PersonalKey.generate()
    team_key = TeamKey(
        kind=kind,
        team=team,
        partner=partner,
        public_key=key.public_key,
        recovery_sealed=key.seal_private_to(recovery_public_key()),
        created_at=timezone.now(),
    )
    integrity.team_key_tag(team_key)
    team_key.save(force_insert=True)
    return team_key, key


def _key_share_save(
    *,
    team_key_id: Any,
    sealed: bytes,
    granted_by: User | None,
    user: User | None = None,
    via_key: TeamKey | None = None,
) -> KeyShare:
    """Create or replace the share of a team key to one person or one team key, tagged."""
    share = KeyShare.objects.filter(team_key_id=team_key_id, user=user, via_key=via_key).first()
    if share is None:
        share = KeyShare(team_key_id=team_key_id, user=user, via_key=via_key)
    share.sealed = sealed
    share.sealed_next = None
    share.granted_by = granted_by
    share.granted_at = timezone.now()
    integrity.key_share_tag(share)
    share.save()
    return share


@transaction.atomic
def org_keys_setup(*, actor: User | None = None) -> OrgSetup:
    """Create the recovery key (returned as words, its private half never stored) and the intake,
    supervisors and all-staff team keys. Refused if the organisation's keys exist already."""
    if OrgKeys.objects.exists():
        raise ValidationError("The organisation's keys are already set up.")
    recovery, words = recovery_key_create()
    org = OrgKeys(
        pk=1,
        recovery_public_key=recovery.public_key,
        erasure_store_id=erasure_store().store_id(),
    )
    integrity.org_keys_tag(org)
    org.save(force_insert=True)
    ctx = KeyContext(actor_id=None)
    for kind in h.SYSTEM_KINDS:
        team_key, key = _team_key_new(kind=kind)
        ctx.add_holder(team_key.ref, key)
        if kind == TeamKeyKind.STAFF:
            # The blind-index key, for whoever holds the all-staff key (see haven.vault.index).
            index_key_create(ctx=ctx, staff_key=team_key, recovery_public=recovery.public_key)
    audit_record(actor=actor, action="keys.setup")
    return OrgSetup(recovery_words=words, ctx=ctx)


@transaction.atomic
def org_setup(*, username: str, password: str, first_name: str = "") -> OrgSetup:
    """Set up a new organisation: its keys and its first supervisor, who holds every team key.

    Returns the recovery words, to be shown once and never stored.
    """
    from haven.accounts.models import Role
    from haven.accounts.services import user_create

    setup = org_keys_setup()
    supervisor = user_create(
        username=username,
        password=password,
        role=Role.SUPERVISOR,
        first_name=first_name,
        chosen_by_them=True,
    )
    team_keys_share_pending(ctx=setup.ctx, actor=supervisor)
    return setup


def user_key_create(*, user: User, password: str) -> UserKey:
    """A new key pair for ``user``, its private half wrapped by ``password`` (Argon2id)."""
    key = PersonalKey.generate()
    user_key = UserKey.objects.filter(user=user).first() or UserKey(user=user)
    user_key.public_key = key.public_key
    user_key.wrapped_private = key.wrap_with_password(password)
    user_key.created_at = timezone.now()
    # A new pair abandons any replacement under way.
    user_key.next_public_key = None
    user_key.next_wrapped_private = None
    integrity.user_key_tag(user_key)
    user_key.save()
    return user_key


def user_key_open(*, user: User, password: str) -> PersonalKey:
    """Unwrap ``user``'s private key with their password (at login); creates the key pair on a
    first login. A wrong password raises CryptoError."""
    user_key = UserKey.objects.filter(user=user).first()
    if user_key is None:
        with transaction.atomic():
            user_key = user_key_create(user=user, password=password)
            audit_record(actor=user, action="key.create", target=user)
    return PersonalKey.unwrap_with_password(bytes(user_key.wrapped_private), password)


def user_key_rewrap(*, user: User, old_password: str, new_password: str) -> None:
    """Re-wrap the same key pair under a new password (a password change keeps all access)."""
    user_key = UserKey.objects.select_for_update().get(user=user)
    key = PersonalKey.unwrap_with_password(bytes(user_key.wrapped_private), old_password)
    user_key.wrapped_private = key.wrap_with_password(new_password)
    if user_key.next_wrapped_private is not None:  # a replacement under way keeps working
        following = PersonalKey.unwrap_with_password(
            bytes(user_key.next_wrapped_private), old_password
        )
        user_key.next_wrapped_private = following.wrap_with_password(new_password)
    user_key.save(update_fields=["wrapped_private", "next_wrapped_private"])


def user_key_replace(*, user: User, password: str) -> int:
    """A new key pair after a reset or a rotation: every grant sealed to the old one is marked
    stale (it says what the person held, and opens nothing) and their team-key shares are removed.
    Returns how many grants went stale. Call inside the caller's transaction."""
    user_key_create(user=user, password=password)
    stale = Grant.objects.filter(user=user, stale=False).update(
        stale=True, sealed_next=None, tag_next=None
    )
    KeyShare.objects.filter(user=user).delete()
    h.forget_held(user)
    return stale


def _require_own_password(user: User) -> None:
    if user.password_change_required:
        raise ValidationError(
            {
                "user": f"{user.username} still has the password an administrator chose: they must "
                "log in and choose their own before keys are shared with them. Check it is them."
            }
        )


def _context_for(ctx: KeyContext, actor: User | None) -> None:
    if actor is not None and ctx.actor_id is not None and ctx.actor_id != actor.pk:
        raise PermissionDenied("The key context belongs to someone else.")


@transaction.atomic
def team_key_share(
    *, ctx: KeyContext, actor: User | None, team_key: TeamKey, user: User
) -> KeyShare:
    """Share a team key the actor holds with ``user``, whose role or team calls for it.

    Only someone who already holds the key can do this: an administrator who assigns a role gives
    no keys with it.
    """
    _context_for(ctx, actor)
    if team_key not in h.expected_key_kinds(user):
        raise ValidationError(
            {
                "user": f"{user.username}'s role and team do not call for the {team_key.get_kind_display()} key."
            }
        )
    if team_key.ref not in ctx.holder_refs():
        raise PermissionDenied("You do not hold this team key, so you cannot share it.")
    _require_own_password(user)
    public = holder_public_keys([user]).get(user)
    if public is None:
        raise ValidationError(
            {"user": f"{user.username} has not logged in yet, so has no key pair."}
        )
    share = _key_share_save(
        team_key_id=team_key.pk,
        user=user,
        sealed=ctx.holder_seal_to(team_key.ref, public),
        granted_by=actor,
    )
    h.forget_held(user)
    audit_record(
        actor=actor,
        action="key.share",
        target=user,
        detail={"team_key": str(team_key.pk), "kind": team_key.kind},
    )
    return share


def team_key_ensure(
    *, actor: User | None, team: Team | None = None, partner: Partner | None = None
) -> TeamKey | None:
    """The active key of a casework team or partner, created on first need (it needs no private
    key to create: members get it when a supervisor shares it). None without org keys or target."""
    if team is None and partner is None:
        return None
    existing = h.team_key(team) if team is not None else h.partner_key(partner)
    if existing is not None or h.system_key(TeamKeyKind.SUPERVISORS) is None:
        return existing
    return team_key_create(ctx=None, actor=actor, team=team, partner=partner)


@transaction.atomic
def team_keys_share_pending(*, ctx: KeyContext, actor: User | None) -> int:
    """Share every team key this context holds with each person whose role or team calls for it
    and who does not hold it yet. Returns how many shares were made."""
    count = 0
    refs = ctx.holder_refs()
    for user, team_key in h.pending_shares():
        if team_key.ref in refs:
            team_key_share(ctx=ctx, actor=actor, team_key=team_key, user=user)
            count += 1
    return count


@transaction.atomic
def team_key_create(
    *,
    ctx: KeyContext | None,
    actor: User | None,
    team: Team | None = None,
    partner: Partner | None = None,
) -> TeamKey:
    """A key for a casework team or a partner agency, sealed to the supervisors' key (so that any
    supervisor can add members) and to the recovery key."""
    if (team is None) == (partner is None):
        raise ValidationError("A team key is for exactly one team or one partner.")
    supervisors = h.system_key(TeamKeyKind.SUPERVISORS)
    if supervisors is None:
        raise ValidationError("The organisation's keys are not set up: run `haven setup`.")
    kind = TeamKeyKind.TEAM if team is not None else TeamKeyKind.PARTNER
    team_key, key = _team_key_new(kind=kind, team=team, partner=partner)
    integrity.team_key_check(supervisors)
    _key_share_save(
        team_key_id=team_key.pk,
        via_key=supervisors,
        sealed=key.seal_private_to(bytes(supervisors.public_key)),
        granted_by=actor,
    )
    if ctx is not None:
        ctx.add_holder(team_key.ref, key)
    audit_record(
        actor=actor, action="key.team_create", detail={"team_key": str(team_key.pk), "kind": kind}
    )
    return team_key


@transaction.atomic
def key_shares_sync(*, actor: User | None, user: User) -> int:
    """After ``user``'s role, team, partner or active flag changed: remove their shares of team
    keys their role no longer calls for, and mark those keys for replacement (a supervisor who
    holds one replaces it on the Keys page). Returns how many shares were removed."""
    expected = {key.pk for key in h.expected_key_kinds(user)}
    h.forget_held(user)
    reached_before = h.held_team_key_ids(user)
    leaving = list(
        KeyShare.objects.filter(user=user)
        .exclude(team_key_id__in=expected)
        .select_related("team_key")
    )
    for share in leaving:
        share.delete()
    h.forget_held(user)
    # Every key they could open, directly or through a key they held (a departing supervisor
    # reached each team's and partner's key through the supervisors' key), is due for replacement.
    lost = reached_before - h.held_team_key_ids(user)
    TeamKey.objects.filter(pk__in=lost, active=True).update(rotation_due=True)
    if leaving:
        audit_record(
            actor=actor,
            action="key.leave",
            target=user,
            detail={"team_keys": sorted(str(share.team_key_id) for share in leaving)},
        )
    return len(leaving)


@transaction.atomic
def team_key_rotate(*, ctx: KeyContext, actor: User | None, team_key: TeamKey) -> TeamKey:
    """Replace a team key by a new generation (after someone left it).

    The new key is shared with everyone who holds the old one now; the old one is sealed to the
    new one, so they still open what was sealed before, while whoever left (and may have kept a
    copy of the old key) opens nothing sealed from now on. Needs a context holding the old key.
    """
    _context_for(ctx, actor)
    team_key = TeamKey.objects.select_for_update().get(pk=team_key.pk)
    if not team_key.active:
        raise ValidationError("This key was already replaced.")
    if team_key.ref not in ctx.holder_refs():
        raise PermissionDenied("You do not hold this team key, so you cannot replace it.")
    TeamKey.objects.filter(pk=team_key.pk).update(active=False, rotation_due=False)
    successor, key = _team_key_new(kind=team_key.kind, team=team_key.team, partner=team_key.partner)
    for share in KeyShare.objects.filter(team_key=team_key).select_related("user", "via_key"):
        if share.user is not None:
            public = holder_public_keys([share.user]).get(share.user)
        elif share.via_key is not None:
            public = holder_public_keys([share.via_key]).get(share.via_key)
        else:
            continue
        if public is not None:
            _key_share_save(
                team_key_id=successor.pk,
                user=share.user,
                via_key=share.via_key,
                sealed=key.seal_private_to(public),
                granted_by=actor,
            )
    _key_share_save(
        team_key_id=team_key.pk,
        via_key=successor,
        sealed=ctx.holder_seal_to(team_key.ref, key.public_key),
        granted_by=actor,
    )
    # Keys sealed to the old generation (each team's key to the supervisors' key) are sealed to
    # the new one instead, so that a copy of the old one opens none of them in a later database.
    for held in KeyShare.objects.filter(via_key=team_key).exclude(team_key=team_key):
        _key_share_save(
            team_key_id=held.team_key_id,
            via_key=successor,
            sealed=ctx.holder_seal_to(f"t:{held.team_key_id}", key.public_key),
            granted_by=actor,
        )
        held.delete()
    # Members now reach the old generation through the new one only.
    KeyShare.objects.filter(team_key=team_key, user__isnull=False).delete()
    ctx.add_holder(successor.ref, key)
    audit_record(
        actor=actor,
        action="key.rotate",
        detail={
            "team_key": str(team_key.pk),
            "successor": str(successor.pk),
            "kind": team_key.kind,
        },
    )
    return successor


# --- Grants ---------------------------------------------------------------------------------------


def _grant_check(grant: Grant, *, next_copy: bool = False) -> None:
    integrity.grant_check(
        data_key_id=grant.data_key_id,
        slot=grant.data_key.erasure_slot,
        user_id=grant.user_id,
        team_key_id=grant.team_key_id,
        sealed=grant.sealed_next if next_copy else grant.sealed,
        stored=grant.tag_next if next_copy else grant.tag,
    )


def grants_add(
    *, ctx: KeyContext, actor: User | None, data_key_ids: Iterable[Any], holder: Any
) -> int:
    """Seal each data key (which the context must hold) to ``holder`` (a person or a team key).

    Returns how many grants were created or restored. Call inside the caller's transaction; the
    caller checks permission and writes the audit entry.
    """
    from haven.accounts.models import User as UserModel
    from haven.vault.sealed import data_keys_unlock

    public = holder_public_keys([holder]).get(holder)
    if public is None:
        raise ValidationError(
            {"user": "This person has not logged in yet, so has no key pair to grant to."}
        )
    ids = [str(key_id) for key_id in data_key_ids]
    data_keys_unlock(ctx=ctx, key_ids=ids)
    slots = dict(DataKey.objects.filter(pk__in=ids).values_list("pk", "erasure_slot"))
    now = timezone.now()
    count = 0
    for key_id in ids:
        if not ctx.has_data_key(key_id):
            raise MissingKeyError("You hold no key for this record, so you cannot grant it.")
        is_user = isinstance(holder, UserModel)
        lookup = {"user": holder} if is_user else {"team_key": holder}
        key_uuid = uuid.UUID(key_id)
        grant = Grant.objects.filter(data_key_id=key_uuid, **lookup).first() or Grant(
            data_key_id=key_uuid, **lookup
        )
        grant.sealed = ctx.data_key_seal_to(key_id, public)
        grant.sealed_next = None
        grant.stale = False
        grant.granted_by = actor
        grant.granted_at = now
        integrity.grant_tag(grant, slot=slots.get(key_uuid))
        grant.save()
        count += 1
    return count


def grants_remove(*, data_key_ids: Iterable[Any], holder: Any) -> int:
    """Delete the grants of ``holder`` on these data keys. The caller audits (and may rotate)."""
    from haven.accounts.models import User as UserModel

    lookup = {"user": holder} if isinstance(holder, UserModel) else {"team_key": holder}
    deleted, _ = Grant.objects.filter(data_key_id__in=list(data_key_ids), **lookup).delete()
    return deleted


def data_key_rotate(*, ctx: KeyContext, actor: User | None, old: DataKey) -> DataKey:
    """A new data key with the same holders as ``old`` (minus anyone already removed) and the
    recovery key. The caller re-seals every record under it and then shreds ``old``.

    The search tokens (and a pending-index mark) move to the new key as they are: they are keyed
    hashes of the records' values, which rotation does not change.
    """
    from haven.vault.sealed import data_key_create

    grants = Grant.objects.filter(data_key=old, stale=False).select_related("user", "team_key")
    holders = [grant.user or grant.team_key for grant in grants]
    new = data_key_create(ctx=ctx, holders=holders, granted_by=actor)
    search_tokens_move(old_key_id=old.pk, new_key_id=new.pk)
    return new


def data_key_shred(*, key_id: Any) -> None:
    """Destroy a data key: every grant, the recovery copy and, once the caller's transaction
    commits, its erasure secret (overwritten in the erasure store). Records under it must be gone
    first (they protect it). From then on, no copy of its ciphertext or of its sealed copies —
    in the database's files, its WAL or a later backup — opens with any key the organisation
    holds, recovery words included."""
    slot = DataKey.objects.filter(pk=key_id).values_list("erasure_slot", flat=True).first()
    Grant.objects.filter(data_key_id=key_id).delete()
    DataKey.objects.filter(pk=key_id).delete()
    if slot is not None:
        ErasedKey.objects.update_or_create(slot=slot, defaults={"destroyed_at": timezone.now()})
        # Erasing before the commit could destroy a key whose deletion then rolls back; after
        # it, a crash in between leaves the ledger row, which the next erasure finishes.
        transaction.on_commit(erasure_ledger_apply, robust=True)


def erasure_ledger_apply() -> int:
    """Erase from the erasure store every slot the shred ledger lists and has not erased yet
    (after each destroying transaction commits; ``haven purge`` and a restore call it too).
    Returns how many slots were erased now."""
    pending = list(ErasedKey.objects.filter(erased_at__isnull=True).values_list("slot", flat=True))
    if not pending:
        return 0
    erasure_store().erase(pending)
    ErasedKey.objects.filter(slot__in=pending, erased_at__isnull=True).update(
        erased_at=timezone.now()
    )
    return len(pending)


@transaction.atomic
def grants_restore(*, ctx: KeyContext, actor: User | None, user: User) -> tuple[int, int]:
    """Re-seal to ``user``'s current key pair every stale grant (from before a password reset)
    whose data key the acting person also holds. Returns (restored, still missing)."""
    from haven.vault.sealed import data_keys_unlock

    _require_own_password(user)
    public = holder_public_keys([user]).get(user)
    if public is None:
        raise ValidationError({"user": f"{user.username} has no key pair yet."})
    stale = list(Grant.objects.filter(user=user, stale=True).select_related("data_key"))
    data_keys_unlock(ctx=ctx, key_ids=[grant.data_key_id for grant in stale])
    restored = 0
    for grant in stale:
        key_id = str(grant.data_key_id)
        if ctx.has_data_key(key_id):
            grant.sealed = ctx.data_key_seal_to(key_id, public)
            grant.sealed_next = None
            grant.stale = False
            grant.granted_by = actor
            grant.granted_at = timezone.now()
            integrity.grant_tag(grant, slot=grant.data_key.erasure_slot)
            grant.save()
            restored += 1
    audit_record(
        actor=actor,
        action="key.restore",
        target=user,
        detail={"restored": restored, "missing": len(stale) - restored},
    )
    return restored, len(stale) - restored


@transaction.atomic
def recovery_restore_access(*, recovery: PersonalKey, user: User) -> tuple[int, int]:
    """With the organisation recovery key: re-seal to ``user``'s current key pair every grant
    they lost (stale) and every team key their role calls for. Returns (grants, team keys)."""
    if bytes(recovery.public_key) != recovery_public_key():
        raise PermissionDenied("These are not this organisation's recovery words.")
    public = holder_public_keys([user]).get(user)
    if public is None:
        raise ValidationError({"user": f"{user.username} has no key pair yet."})
    ctx = KeyContext(actor_id=None)
    grants = 0
    for grant in Grant.objects.filter(user=user, stale=True).select_related("data_key"):
        key_id = str(grant.data_key_id)
        integrity.data_key_check(grant.data_key)
        ctx.data_key_unlock_recovery(
            key_id,
            recovery=recovery,
            sealed=bytes(grant.data_key.recovery_sealed),
            slot=grant.data_key.erasure_slot,
        )
        grant.sealed = ctx.data_key_seal_to(key_id, public)
        grant.sealed_next = None
        grant.stale = False
        grant.granted_at = timezone.now()
        integrity.grant_tag(grant, slot=grant.data_key.erasure_slot)
        grant.save()
        grants += 1
    shares = 0
    for person, team_key in h.pending_shares(user):
        integrity.team_key_check(team_key)
        team = PersonalKey.open_shared(recovery, bytes(team_key.recovery_sealed))
        ctx.add_holder(team_key.ref, team)
        _key_share_save(
            team_key_id=team_key.pk,
            user=person,
            sealed=team.seal_private_to(public),
            granted_by=None,
        )
        shares += 1
    ctx.forget()
    h.forget_held(user)
    audit_record(
        actor=None,
        action="recovery.restore",
        target=user,
        detail={"grants": grants, "team_keys": shares},
    )
    return grants, shares


def recovery_context(*, recovery: PersonalKey) -> KeyContext:
    """A context that opens any record through its recovery copy (``haven recover show``)."""
    if bytes(recovery.public_key) != recovery_public_key():
        raise PermissionDenied("These are not this organisation's recovery words.")
    ctx = KeyContext(actor_id=None)
    ctx.add_holder("recovery", recovery)
    return ctx


# --- Replacing an exposed personal key (`haven keys rotate-user`) --------------------------------


@dataclass
class RotationProgress:
    done: int
    total: int


def _rotation_keys(user_key: UserKey, password: str) -> tuple[PersonalKey, PersonalKey]:
    old = PersonalKey.unwrap_with_password(bytes(user_key.wrapped_private), password)
    if user_key.next_wrapped_private is None:
        raise ValidationError("No key replacement is under way for this person.")
    new = PersonalKey.unwrap_with_password(bytes(user_key.next_wrapped_private), password)
    return old, new


@transaction.atomic
def user_key_rotation_start(*, actor: User | None, user: User, password: str) -> bool:
    """Begin replacing ``user``'s key pair (their private key may have been exposed).

    The new pair is wrapped by the same password. Until :func:`user_key_rotation_finish`, the old
    pair keeps opening everything, so nobody loses access half-way. Returns False when a
    replacement was already under way (the command then resumes it).
    """
    user_key = UserKey.objects.select_for_update().get(user=user)
    PersonalKey.unwrap_with_password(bytes(user_key.wrapped_private), password)  # proves it
    if user_key.next_wrapped_private is not None:
        return False
    integrity.user_key_check(user_key)
    key = PersonalKey.generate()
    user_key.next_public_key = key.public_key
    user_key.next_wrapped_private = key.wrap_with_password(password)
    integrity.user_key_tag(user_key)
    user_key.save(update_fields=["next_public_key", "next_wrapped_private", "tag"])
    audit_record(actor=actor, action="key.rotate_user_start", target=user)
    return True


def user_key_rotation_step(*, user: User, password: str, batch: int = 500) -> RotationProgress:
    """Seal up to ``batch`` more of ``user``'s grants and team-key shares to the new pair, beside
    the old sealing (each batch its own transaction: an interruption loses nothing)."""
    user_key = UserKey.objects.get(user=user)
    integrity.user_key_check(user_key)
    old, new = _rotation_keys(user_key, password)
    public = new.public_key
    with transaction.atomic():
        todo = list(
            Grant.objects.select_for_update()
            .filter(user=user, stale=False, sealed_next__isnull=True)
            .select_related("data_key")
            .order_by("pk")[:batch]
        )
        for grant in todo:
            _grant_check(grant)
            grant.sealed_next = seal_to_public_key(public, old.open_sealed(bytes(grant.sealed)))
            integrity.grant_tag(grant, slot=grant.data_key.erasure_slot)
            grant.save(update_fields=["sealed_next", "tag_next"])
        for share in KeyShare.objects.select_for_update().filter(
            user=user, sealed_next__isnull=True
        ):
            integrity.key_share_check(share, sealed=share.sealed, stored=share.tag)
            team = PersonalKey.open_shared(old, bytes(share.sealed))
            share.sealed_next = team.seal_private_to(public)
            integrity.key_share_tag(share)
            share.save(update_fields=["sealed_next", "tag_next"])
    total = Grant.objects.filter(user=user, stale=False).count()
    left = Grant.objects.filter(user=user, stale=False, sealed_next__isnull=True).count()
    return RotationProgress(done=total - left, total=total)


@transaction.atomic
def user_key_rotation_finish(*, actor: User | None, user: User, password: str) -> int:
    """Swap to the new pair in one transaction: what was granted meanwhile is sealed to it now,
    every grant and share takes its new sealing, and the person's sessions and API tokens (which
    carry the old key) end. Returns how many grants moved to the new pair."""
    from haven.accounts.services import sessions_end_for

    user_key = UserKey.objects.select_for_update().get(user=user)
    integrity.user_key_check(user_key)
    old, new = _rotation_keys(user_key, password)
    public = new.public_key
    grants = list(
        Grant.objects.select_for_update().filter(user=user, stale=False).select_related("data_key")
    )
    for grant in grants:
        if grant.sealed_next is None:
            _grant_check(grant)
            grant.sealed_next = seal_to_public_key(public, old.open_sealed(bytes(grant.sealed)))
        else:
            _grant_check(grant, next_copy=True)
        grant.sealed, grant.sealed_next = grant.sealed_next, None
        integrity.grant_tag(grant, slot=grant.data_key.erasure_slot)
        grant.save(update_fields=["sealed", "sealed_next", "tag", "tag_next"])
    for share in KeyShare.objects.select_for_update().filter(user=user):
        if share.sealed_next is None:
            integrity.key_share_check(share, sealed=share.sealed, stored=share.tag)
            share.sealed_next = PersonalKey.open_shared(old, bytes(share.sealed)).seal_private_to(
                public
            )
        else:
            integrity.key_share_check(share, sealed=share.sealed_next, stored=share.tag_next)
        share.sealed, share.sealed_next = share.sealed_next, None
        integrity.key_share_tag(share)
        share.save(update_fields=["sealed", "sealed_next", "tag", "tag_next"])
    # Stale grants were sealed to a pair older still: they stay stale (opening nothing).
    user_key.public_key, user_key.wrapped_private = (
        user_key.next_public_key,
        user_key.next_wrapped_private,
    )
    user_key.next_public_key = user_key.next_wrapped_private = None
    user_key.created_at = timezone.now()
    integrity.user_key_tag(user_key)
    user_key.save()
    sessions_end_for(user=user)
    user.api_tokens.all().delete()
    audit_record(actor=actor, action="key.rotate_user", target=user, detail={"grants": len(grants)})
    return len(grants)
