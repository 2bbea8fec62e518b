"""Key rows a database writer cannot forge (issue 17, finding 5).

The attacker of these tests can write any row of the database but holds no key and cannot read
the erasure store (which keeps the integrity key). Each test first shows the forged row would have
worked without the tag, where that is not obvious, then that Haven refuses it."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from haven.brokers.credentials import broker_credential_issue
from haven.cases.models import Case, Channel, Note
from haven.cases.services import case_grant, request_create
from haven.crypto import IntegrityError, KeyContext, PersonalKey
from haven.messaging.models import Conversation
from haven.messaging.services import message_send, party_context
from haven.vault import integrity
from haven.vault.context import context_for
from haven.vault.models import (
    DataKey,
    Grant,
    IndexKeyCopy,
    KeyShare,
    OrgKeys,
    TeamKey,
    UserKey,
)
from haven.vault.sealed import _aad, payload_read, recovery_public_key_forget
from haven.vault.services import user_key_open
from tests.factories import PASSWORD, PersonInputFactory, ctx_for, make_broker, make_case

pytestmark = pytest.mark.django_db


def _forged_key_for(user, *, slot=None) -> tuple[DataKey, KeyContext]:
    """What a database writer can do without any key: make a data key of their own and seal it to
    a colleague's public key, as a grant would."""
    attacker = KeyContext(actor_id=None)
    key_id = uuid.uuid4()
    public = bytes(UserKey.objects.get(user=user).public_key)
    sealed = attacker.data_key_new(str(key_id), {"victim": public}, slot=slot)
    key = DataKey.objects.create(id=key_id, recovery_sealed=b"x" * 80, erasure_slot=slot)
    Grant.objects.create(
        data_key=key, user=user, sealed=sealed["victim"], granted_at=timezone.now()
    )
    return key, attacker


def test_a_grant_of_a_key_the_writer_made_is_refused(ctx, alice, bob, monkeypatch) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    key, attacker = _forged_key_for(bob)
    # Re-point bob's case note to it, with a payload the attacker sealed (and could read back).
    note = Note.objects.create(
        case=case, data_key=key, author=alice, created_at=timezone.now(), payload=b""
    )
    note.payload = attacker.seal(key_id=str(key.pk), data={"text": "planted"}, aad=_aad(note))
    note.save()

    with pytest.raises(IntegrityError):
        payload_read(ctx=ctx_for(bob), record=note)
    # Without the check, bob would read the planted note as genuine (and seal his edits to it
    # under a key the attacker knows): the gap docs/security.md used to list.
    monkeypatch.setattr(integrity, "grant_check", lambda **kwargs: None)
    assert payload_read(ctx=ctx_for(bob), record=note) == {"text": "planted"}


def test_a_forged_grant_with_a_copied_tag_is_refused(ctx, alice, bob) -> None:
    """A tag lifted from a genuine grant does not fit another row."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    genuine = Grant.objects.filter(user=bob, data_key_id=case.data_key_id).get()
    key, _ = _forged_key_for(bob)
    Grant.objects.filter(data_key=key).update(tag=genuine.tag)
    note = Note.objects.create(
        case=case, data_key=key, author=alice, created_at=timezone.now(), payload=b"\x01" * 60
    )

    with pytest.raises(IntegrityError):
        payload_read(ctx=ctx_for(bob), record=note)


def test_a_key_re_pointed_to_no_erasure_slot_is_refused(ctx, alice, bob) -> None:
    """Without a slot the sealed material would be the key itself, which a writer who swapped
    in their own material would know."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    DataKey.objects.filter(pk=case.data_key_id).update(erasure_slot=None)

    with pytest.raises(IntegrityError):
        payload_read(ctx=ctx_for(bob), record=Case.objects.get(pk=case.pk))


def test_a_team_public_key_swapped_in_the_database_receives_nothing(ctx, alice) -> None:
    intake = TeamKey.objects.get(kind="intake", active=True)
    TeamKey.objects.filter(pk=intake.pk).update(public_key=PersonalKey.generate().public_key)
    before = Case.objects.count()

    with pytest.raises(IntegrityError):
        request_create(
            ctx=ctx,
            actor=alice,
            channel=Channel.STAFF,
            account="One person.",
            people=PersonInputFactory.build_batch(1),
        )
    assert Case.objects.count() == before


def test_a_recovery_public_key_swapped_in_the_database_receives_nothing(ctx, alice) -> None:
    OrgKeys.objects.filter(pk=1).update(recovery_public_key=PersonalKey.generate().public_key)
    recovery_public_key_forget()

    with pytest.raises(IntegrityError):
        make_case(ctx=ctx, actor=alice)


def test_a_colleague_public_key_swapped_in_the_database_is_not_granted_to(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    UserKey.objects.filter(user=carol).update(public_key=PersonalKey.generate().public_key)

    with pytest.raises(IntegrityError):
        case_grant(ctx=ctx, actor=alice, case=case, holder=carol)
    assert not Grant.objects.filter(user=carol, data_key_id=case.data_key_id).exists()


def test_a_team_key_share_replaced_in_the_database_is_not_opened(ctx, alice, dave) -> None:
    """dave (intake) holds the intake key through his share; a share swapped for one of a key
    the writer made is left out of his context (and reported), so nothing is read under it."""
    intake = TeamKey.objects.get(kind="intake", active=True)
    share = KeyShare.objects.get(team_key=intake, user=dave)
    fake = PersonalKey.generate()
    KeyShare.objects.filter(pk=share.pk).update(
        sealed=fake.seal_private_to(bytes(UserKey.objects.get(user=dave).public_key))
    )

    ctx_dave = context_for(dave, user_key_open(user=dave, password=PASSWORD))

    assert intake.ref not in ctx_dave.holder_refs()


def test_a_conversation_copy_for_its_party_replaced_is_refused(ctx, alice) -> None:
    broker = make_broker(ctx=ctx, actor=alice)
    broker_credential_issue(ctx=ctx, actor=alice, broker=broker)
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.BROKER,
        broker=broker,
        account="Two of us.",
        people=PersonInputFactory.build_batch(1),
    )
    message_send(ctx=ctx, actor=alice, request=request, body="Hello")
    conversation = Conversation.objects.get(request=request)
    party = PersonalKey.generate()
    Conversation.objects.filter(pk=conversation.pk).update(
        party_public_key=party.public_key,
        party_sealed=KeyContext(actor_id=None).data_key_new(
            "forged", {"p": party.public_key}, slot=None
        )["p"],
    )

    with pytest.raises(IntegrityError):
        party_context(Conversation.objects.get(pk=conversation.pk), party)


def test_a_broker_public_key_swapped_in_the_database_gets_no_conversation(ctx, alice) -> None:
    from haven.brokers.models import BrokerCredential

    broker = make_broker(ctx=ctx, actor=alice)
    broker_credential_issue(ctx=ctx, actor=alice, broker=broker)
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.BROKER,
        broker=broker,
        account="Two of us.",
        people=PersonInputFactory.build_batch(1),
    )
    BrokerCredential.objects.filter(broker=broker).update(
        public_key=PersonalKey.generate().public_key
    )

    with pytest.raises(IntegrityError):
        message_send(ctx=ctx, actor=alice, request=request, body="Hello")
    assert not Conversation.objects.filter(request=request).exists()


def test_an_index_key_copy_replaced_in_the_database_is_refused(ctx, alice, bob) -> None:
    copy = IndexKeyCopy.objects.get(index_key__active=True)
    staff = TeamKey.objects.get(kind="staff", active=True)
    IndexKeyCopy.objects.filter(pk=copy.pk).update(
        sealed=PersonalKey.generate().seal_private_to(bytes(staff.public_key))
    )

    with pytest.raises(IntegrityError):
        ctx_for(bob)


def test_every_key_row_haven_wrote_carries_a_valid_tag(ctx, alice, bob, carol, partner):
    """After a day's work (records, a grant, a conversation), every key row verifies."""
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)
    for org in OrgKeys.objects.all():
        integrity.org_keys_check(org)
    for team_key in TeamKey.objects.all():
        integrity.team_key_check(team_key)
    for user_key in UserKey.objects.all():
        integrity.user_key_check(user_key)
    for key in DataKey.objects.all():
        integrity.data_key_check(key)
    for grant in Grant.objects.select_related("data_key"):
        integrity.grant_check(
            data_key_id=grant.data_key_id,
            slot=grant.data_key.erasure_slot,
            user_id=grant.user_id,
            team_key_id=grant.team_key_id,
            sealed=grant.sealed,
            stored=grant.tag,
        )
    for share in KeyShare.objects.all():
        integrity.key_share_check(share, sealed=share.sealed, stored=share.tag)
    for copy in IndexKeyCopy.objects.all():
        integrity.index_key_copy_check(copy)


def test_the_upgrade_tags_rows_written_before_tags_existed(ctx, alice, bob) -> None:
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    Grant.objects.update(tag=None)
    TeamKey.objects.update(tag=None)
    with pytest.raises(IntegrityError):
        payload_read(ctx=ctx_for(bob), record=case)

    migration = importlib.import_module("haven.vault.migrations.0008_integrity_tags")
    migration.tag_existing(django_apps, None)

    assert payload_read(ctx=ctx_for(bob), record=Case.objects.get(pk=case.pk))
