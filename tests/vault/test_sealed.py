"""The sensitive-data boundary: payloads open only on their own record, at their own version."""

from __future__ import annotations

import pytest

from haven.cases.models import Case, Person
from haven.cases.services import case_update
from haven.crypto import CryptoError, MissingKeyError
from haven.vault.holders import case_holders
from haven.vault.models import DataKey, Grant, OrgKeys
from haven.vault.sealed import data_keys_create, data_keys_unlock, payload_read
from tests.factories import ctx_for, make_case


@pytest.mark.django_db
def test_a_payload_copied_onto_another_record_does_not_open(ctx, alice):
    one = make_case(ctx=ctx, actor=alice)
    two = make_case(ctx=ctx, actor=alice)
    Person.objects.filter(pk=two.person_id).update(
        payload=one.person.payload, data_key=one.person.data_key
    )

    moved = Person.objects.select_related("data_key").get(pk=two.person_id)
    with pytest.raises(CryptoError):
        payload_read(ctx=ctx_for(alice), record=moved)


@pytest.mark.django_db
def test_restoring_an_older_payload_is_detected(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    old_payload = bytes(case.payload)
    case_update(ctx=ctx, actor=alice, case=case, expected_version=case.version, summary="newer")
    Case.objects.filter(pk=case.pk).update(payload=old_payload)

    rolled_back = Case.objects.select_related("data_key").get(pk=case.pk)
    with pytest.raises(CryptoError):
        payload_read(ctx=ctx_for(alice), record=rolled_back)


@pytest.mark.django_db
def test_a_flipped_bit_in_a_payload_is_refused(ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    tampered = bytearray(case.payload)
    tampered[-1] ^= 1
    Case.objects.filter(pk=case.pk).update(payload=bytes(tampered))

    with pytest.raises(CryptoError):
        payload_read(
            ctx=ctx_for(alice),
            record=Case.objects.select_related("data_key").get(pk=case.pk),
        )


@pytest.mark.django_db
def test_a_person_without_a_grant_cannot_open_a_case_even_through_the_vault(ctx, alice, carol):
    case = make_case(ctx=ctx, actor=alice)

    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(carol), record=Case.objects.get(pk=case.pk))


@pytest.mark.django_db
def test_a_grant_copied_to_another_person_does_not_open_for_them(ctx, alice, carol):
    from haven.vault.models import Grant

    case = make_case(ctx=ctx, actor=alice)
    alices = Grant.objects.get(data_key_id=case.data_key_id, user=alice)
    Grant.objects.create(
        data_key_id=case.data_key_id, user=carol, sealed=alices.sealed, granted_at=alices.granted_at
    )

    with pytest.raises(CryptoError):
        payload_read(ctx=ctx_for(carol), record=Case.objects.get(pk=case.pk))


def test_the_unsealed_key_cache_is_bounded():
    from haven import crypto

    context = crypto.KeyContext(actor_id=None)
    for i in range(crypto._CACHE_LIMIT + 10):
        context.data_key_new(f"key-{i}", {}, slot=None)
    assert len(context._cache) == crypto._CACHE_LIMIT
    context.forget()
    assert len(context._cache) == 0


@pytest.mark.django_db
def test_a_note_re_pointed_to_another_case_no_longer_opens(ctx, alice):
    from haven.cases.models import Note
    from haven.cases.services import note_add

    one = make_case(ctx=ctx, actor=alice)
    two = make_case(ctx=ctx, actor=alice)
    note = note_add(ctx=ctx, actor=alice, case=one, text="She is hiding in room 5")
    Note.objects.filter(pk=note.pk).update(case=two, data_key=two.data_key)

    moved = Note.objects.select_related("data_key").get(pk=note.pk)
    with pytest.raises(CryptoError):
        payload_read(ctx=ctx_for(alice), record=moved)


@pytest.mark.django_db
def test_widening_a_consent_in_the_database_is_detected(ctx, alice, partner):
    from haven.referrals.models import Consent
    from haven.referrals.services import consent_record

    case = make_case(ctx=ctx, actor=alice)
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="relief",
        fields=["sex"],
        method="verbal",
        words="Only my sex, please.",
    )
    Consent.objects.filter(pk=consent.pk).update(fields=["sex", "exact_place"])

    widened = Consent.objects.select_related("data_key").get(pk=consent.pk)
    with pytest.raises(CryptoError):
        payload_read(ctx=ctx_for(alice), record=widened)


@pytest.mark.django_db
def test_a_tampered_payload_is_refused_rather_than_overwritten(ctx, alice):
    from haven.cases.services import PersonInput, person_update

    case = make_case(ctx=ctx, actor=alice)
    other = make_case(ctx=ctx, actor=alice)
    Person.objects.filter(pk=case.person_id).update(payload=other.person.payload)
    tampered = Case.objects.select_related("data_key", "person__data_key").get(pk=case.pk)

    with pytest.raises(CryptoError):
        person_update(
            ctx=ctx_for(alice),
            actor=alice,
            case=tampered,
            expected_version=tampered.person.version,
            person=PersonInput(name_hangul="덮어쓰기"),
            family=[],
        )
    assert bytes(Person.objects.get(pk=case.person_id).payload) == bytes(other.person.payload)


@pytest.mark.django_db
def test_keys_made_together_are_separate_keys_each_sealed_to_every_holder(ctx, alice, bob, carol):
    holders = case_holders(actor=alice, owner=bob)
    keys = data_keys_create(ctx=ctx, holders=holders, granted_by=alice, count=3)

    assert len({key.pk for key in keys}) == 3
    assert DataKey.objects.filter(pk__in=[key.pk for key in keys]).count() == 3
    for key in keys:
        assert bytes(DataKey.objects.get(pk=key.pk).recovery_sealed)
        grants = Grant.objects.filter(data_key=key)
        assert grants.count() == len(holders)
        assert {g.user_id or g.team_key_id for g in grants} == {h.pk for h in holders}
    # Each opens for a holder on its own, and for nobody else.
    for key in keys:
        bob_ctx = ctx_for(bob)
        data_keys_unlock(ctx=bob_ctx, key_ids=[key.pk])
        assert bob_ctx.has_data_key(str(key.pk))
        carol_ctx = ctx_for(carol)
        data_keys_unlock(ctx=carol_ctx, key_ids=[key.pk])
        assert not carol_ctx.has_data_key(str(key.pk))


@pytest.mark.django_db(transaction=True)
def test_the_recovery_public_key_is_read_once_per_process_but_never_from_an_undone_setup():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from haven.vault.sealed import recovery_public_key
    from haven.vault.services import org_keys_setup

    class Undo(Exception):
        pass

    def stored() -> bytes:
        return bytes(OrgKeys.objects.get(pk=1).recovery_public_key)

    with pytest.raises(Undo), transaction.atomic():
        org_keys_setup()  # reads the recovery key inside its own transaction
        undone = stored()
        assert recovery_public_key() == undone
        raise Undo
    org_keys_setup()
    kept = stored()
    assert recovery_public_key() == kept != undone
    with CaptureQueriesContext(connection) as queries:
        assert recovery_public_key() == kept
    assert queries.captured_queries == []
