"""Grants, revocation (with key rotation) and deletion that destroys a case's keys."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from haven.audit.models import AuditEntry
from haven.audit.pseudonyms import audit_id
from haven.cases.models import Case, JourneyEvent, Note, Person
from haven.cases.services import case_delete, case_grant, case_revoke, note_add
from haven.crypto import CryptoError, KeyContext, MissingKeyError, recovery_key_from_words
from haven.errors import ConflictError
from haven.referrals.models import Consent
from haven.referrals.services import consent_record
from haven.vault.models import DataKey, Grant, TeamKey, UserKey
from haven.vault.sealed import _aad, payload_read
from tests.factories import ctx_for, make_case

pytestmark = pytest.mark.django_db


def _fresh(case: Case) -> Case:
    return Case.objects.select_related("data_key", "person").get(pk=case.pk)


def test_a_colleague_granted_a_case_can_open_it_and_the_grant_is_audited(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(carol), record=_fresh(case))

    case_grant(ctx=ctx_for(bob), actor=bob, case=case, holder=carol)

    assert payload_read(ctx=ctx_for(carol), record=_fresh(case))["own_words"] == ""
    assert payload_read(ctx=ctx_for(carol), record=_fresh(case).person)["name_hangul"]
    entry = AuditEntry.objects.get(action="case.grant")
    assert entry.actor_id == bob.pk and entry.detail == {"user": str(carol.pk)}


def test_someone_without_the_case_cannot_grant_it(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    grants = Grant.objects.count()

    with pytest.raises(PermissionDenied):
        case_grant(ctx=ctx_for(carol), actor=carol, case=case, holder=carol)
    assert Grant.objects.count() == grants


@pytest.mark.parametrize("name", ["erin", "grace", "heidi", "frank"])
def test_roles_that_never_read_cases_cannot_be_granted_one(ctx, alice, request, name):
    case = make_case(ctx=ctx, actor=alice)
    grants = Grant.objects.count()

    with pytest.raises(ValidationError, match="does not work with cases"):
        case_grant(ctx=ctx, actor=alice, case=case, holder=request.getfixturevalue(name))
    assert Grant.objects.count() == grants


def test_nobody_grants_themselves_a_case_they_hold_through_a_team(ctx, alice, bob, dave):
    """dave holds the case through the intake key; a personal grant would outlive his role."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    grants = Grant.objects.count()

    with pytest.raises(ValidationError, match="yourself"):
        case_grant(ctx=ctx_for(dave), actor=dave, case=case, holder=dave)
    assert Grant.objects.count() == grants
    assert not Grant.objects.filter(user=dave).exists()


def test_a_supervisor_revokes_access_and_the_person_can_no_longer_open_the_case(
    ctx, alice, bob, carol
):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)

    case_revoke(ctx=ctx, actor=alice, case=case, holder=carol)

    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(carol), record=_fresh(case))
    assert AuditEntry.objects.filter(action="case.revoke").exists()


def test_only_supervisors_revoke_and_nobody_revokes_themselves(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)
    before = Grant.objects.count()

    with pytest.raises(PermissionDenied):
        case_revoke(ctx=ctx_for(bob), actor=bob, case=case, holder=carol)
    with pytest.raises(ValidationError, match="your own"):
        case_revoke(ctx=ctx, actor=alice, case=case, holder=alice)
    assert Grant.objects.count() == before


def test_revoking_with_rotation_re_encrypts_everything_under_a_new_key(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="safe house on the left")
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)
    carol_ctx = ctx_for(carol)
    payload_read(ctx=carol_ctx, record=_fresh(case))  # carol's context now caches the old key
    old_key = case.data_key_id

    case_revoke(ctx=ctx, actor=alice, case=_fresh(case), holder=carol, rotate=True)

    rotated = _fresh(case)
    assert rotated.data_key_id != old_key
    assert not DataKey.objects.filter(pk=old_key).exists()
    assert not Grant.objects.filter(data_key_id=old_key).exists()
    for model in (Person, JourneyEvent, Note):
        assert not model.objects.filter(data_key_id=old_key).exists()
    # Everyone else still opens every record; carol, even holding the old key in memory, does not.
    bob_ctx = ctx_for(bob)
    assert payload_read(ctx=bob_ctx, record=Note.objects.get(case=case))["text"].startswith("safe")
    assert payload_read(ctx=bob_ctx, record=rotated.person)["name_hangul"]
    with pytest.raises(MissingKeyError):
        payload_read(ctx=carol_ctx, record=rotated)
    assert AuditEntry.objects.get(action="case.revoke").detail["rotated"] is True


def test_revoking_the_last_holder_is_refused(ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    team_keys = TeamKey.objects.filter(grants__data_key_id=case.data_key_id)
    for team_key in team_keys:
        case_revoke(ctx=ctx, actor=alice, case=case, holder=team_key)
    case_revoke(ctx=ctx, actor=alice, case=case, holder=bob)

    with pytest.raises(ValidationError):
        case_revoke(ctx=ctx_for(alice), actor=alice, case=case, holder=alice)
    assert Grant.objects.filter(data_key_id=case.data_key_id, user=alice).exists()


def _every_key_the_organisation_holds(org, users) -> KeyContext:
    """A context holding every data key still openable by anyone: each person's grants, each team
    key's, and every recovery copy, opened with the recovery words."""
    everything = KeyContext(actor_id=None)
    recovery = recovery_key_from_words(org.recovery_words)
    for key in DataKey.objects.all():
        everything.data_key_unlock_recovery(
            str(key.pk),
            recovery=recovery,
            sealed=bytes(key.recovery_sealed),
            slot=key.erasure_slot,
        )
    for user in users:
        person = ctx_for(user)
        for grant in Grant.objects.filter(user=user).select_related("data_key"):
            person.data_key_unlock(
                str(grant.data_key_id),
                holder=f"u:{user.pk}",
                sealed=grant.sealed,
                slot=grant.data_key.erasure_slot,
            )
    return everything


def test_deleting_a_case_destroys_every_copy_of_its_key(org, ctx, alice, bob, carol, partner):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["name_hangul"],
        method="verbal",
        words="yes",
    )
    note_add(ctx=ctx, actor=alice, case=case, text="hiding in Dandong")
    case = _fresh(case)
    kept = [
        (case, bytes(case.payload), _aad(case)),
        (case.person, bytes(case.person.payload), _aad(case.person)),
    ]
    key_id = str(case.data_key_id)
    other = make_case(ctx=ctx, actor=alice, owner=bob)

    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    assert not Case.objects.filter(pk=case.pk).exists()
    assert not Person.objects.filter(pk=case.person_id).exists()
    assert not Consent.objects.filter(case_id=case.pk).exists()
    assert not DataKey.objects.filter(pk=key_id).exists()
    assert not Grant.objects.filter(data_key_id=key_id).exists()
    everything = _every_key_the_organisation_holds(org, [alice, bob])
    assert everything.has_data_key(str(other.data_key_id))  # the search is real
    for held in list(everything._cache):
        for _record, payload, aad in kept:
            with pytest.raises(CryptoError):
                everything.open(key_id=held, blob=payload, aad=aad)
            # Under its own id nothing opens it either: no key by that id exists any more.
            with pytest.raises(MissingKeyError):
                everything.open(key_id=key_id, blob=payload, aad=aad)
    entry = AuditEntry.objects.get(action="case.delete")
    assert entry.detail == {"case": audit_id(case.pk)}


def test_only_a_supervisor_holding_the_case_deletes_it_at_the_current_version(ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)

    with pytest.raises(PermissionDenied):
        case_delete(ctx=ctx_for(bob), actor=bob, case=case, expected_version=case.version)
    with pytest.raises(ConflictError):
        case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version + 1)
    assert Case.objects.filter(pk=case.pk).exists() and UserKey.objects.filter(user=bob).exists()


def test_deleting_the_last_case_of_a_request_destroys_the_request_too(ctx, alice):
    from haven.cases.models import Request

    case = make_case(ctx=ctx, actor=alice)

    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)

    assert not Request.objects.filter(pk=case.request_id).exists()
    assert not DataKey.objects.filter(grants__isnull=True, pk=case.request.data_key_id).exists()
