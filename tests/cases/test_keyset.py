"""One owner for a case's keys (haven.cases.keyset): every model with a data key is declared,
and grant, revoke, rotate and destroy reach every declared record."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from haven.attachments.models import Attachment
from haven.attachments.services import attachment_add
from haven.brokers.credentials import broker_credential_issue
from haven.cases import keyset
from haven.cases.journey import State
from haven.cases.models import Case, Channel, Group, JourneyEvent, Note, Person, Request
from haven.cases.services import (
    case_delete,
    case_grant,
    case_revoke,
    journey_advance,
    note_add,
    request_create,
)
from haven.messaging.models import Conversation, Message
from haven.messaging.services import message_send
from haven.referrals.models import Consent, Referral
from haven.referrals.services import (
    consent_record,
    referral_approve,
    referral_create,
    referral_send,
)
from haven.vault.holders import holds_key
from haven.vault.models import DataKey, Grant
from tests.attachments.samples import png
from tests.factories import PersonInputFactory, ctx_for, make_broker

pytestmark = pytest.mark.django_db


def test_every_model_with_a_data_key_is_declared_or_exempt() -> None:
    assert keyset.undeclared_models() == []


def test_a_model_left_undeclared_is_reported(monkeypatch) -> None:
    kept = [m for m in keyset._members if m.model is not Note]
    monkeypatch.setattr(keyset, "_members", kept)
    assert keyset.undeclared_models() == [Note]


def _full_case(ctx, alice, partner) -> Case:
    """A case with a record of every declared kind: events, a note, a consent and a sent referral
    (a packet with a key of its own), a conversation with a message, and a file."""
    broker = make_broker(ctx=ctx, actor=alice)
    broker_credential_issue(ctx=ctx, actor=alice, broker=broker)
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel=Channel.BROKER,
        broker=broker,
        account="Two of us want to leave.",
        people=PersonInputFactory.build_batch(2),
    )
    case = request.cases.order_by("pk").first()
    for target in (State.VERIFYING, State.ACCEPTED):
        journey_advance(
            ctx=ctx, actor=alice, case=case, to_state=target, expected_version=case.version
        )
    note_add(ctx=ctx, actor=alice, case=case, text="Called back.")
    fields = ["name_hangul"]
    consent = consent_record(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="resettlement",
        fields=fields,
        method="own_words",
        words="I chose to leave.",
    )
    referral = referral_create(
        ctx=ctx,
        actor=alice,
        case=case,
        partner=partner,
        purpose="resettlement",
        disclosed_fields=fields,
        consent=consent,
    )
    referral_approve(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    referral.refresh_from_db()
    referral_send(ctx=ctx, actor=alice, referral=referral, expected_version=referral.version)
    message_send(ctx=ctx, actor=alice, request=request, body="We read you.")
    attachment_add(ctx=ctx, actor=alice, request=request, name="p.png", content=png())
    case.refresh_from_db()
    return case


def _declared_keys(case: Case) -> set[str]:
    keys = {str(case.data_key_id), str(case.request.data_key_id), str(case.group.data_key_id)}
    for member in keyset.members("case"):
        keys |= {str(k) for k in member.rows(case.pk).values_list("data_key_id", flat=True)}
    for member in keyset.members("request"):
        keys |= {str(k) for k in member.rows(case.request_id).values_list("data_key_id", flat=True)}
    return keys


def test_a_grant_seals_every_declared_key_of_the_case(ctx, alice, carol, partner) -> None:
    case = _full_case(ctx, alice, partner)
    keys = _declared_keys(case)
    # Every kind is really present, so the check below covers them all.
    assert Referral.objects.filter(case=case).exclude(data_key_id=case.data_key_id).exists()
    assert Conversation.objects.filter(request_id=case.request_id).exists()
    assert Attachment.objects.filter(request_id=case.request_id).exists()

    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)

    for key_id in keys:
        assert holds_key(carol, key_id), key_id


def test_revoking_takes_the_request_keys_only_with_the_last_case_held(
    ctx, alice, carol, partner
) -> None:
    case = _full_case(ctx, alice, partner)
    sibling = Case.objects.filter(request_id=case.request_id).exclude(pk=case.pk).get()
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)
    case_grant(ctx=ctx, actor=alice, case=sibling, holder=carol)

    case_revoke(ctx=ctx, actor=alice, case=case, holder=carol)

    assert not holds_key(carol, case.data_key_id)
    own = Referral.objects.filter(case=case).exclude(data_key_id=case.data_key_id).get()
    assert not holds_key(carol, own.data_key_id)
    # The request, its conversation and files stay with the sibling case carol still holds.
    for member in keyset.members("request"):
        for key_id in member.rows(case.request_id).values_list("data_key_id", flat=True):
            assert holds_key(carol, key_id)
    assert holds_key(carol, case.request.data_key_id)


def test_rotating_re_seals_every_record_under_the_case_key(ctx, alice, carol, partner) -> None:
    case = _full_case(ctx, alice, partner)
    old_key = case.data_key_id
    under_old = {
        member.model: set(member.rows(case.pk).filter(data_key_id=old_key).values_list("pk"))
        for member in keyset.members("case")
    }
    assert under_old[JourneyEvent] and under_old[Note] and under_old[Consent]
    case_grant(ctx=ctx, actor=alice, case=case, holder=carol)

    case = case_revoke(ctx=ctx, actor=alice, case=case, holder=carol, rotate=True)

    assert case.data_key_id != old_key and not DataKey.objects.filter(pk=old_key).exists()
    for member in keyset.members("case"):
        assert not member.rows(case.pk).filter(data_key_id=old_key).exists()
    assert Person.objects.get(pk=case.person_id).data_key_id == case.data_key_id


def test_deleting_the_last_cases_destroys_every_declared_record_and_key(
    ctx, alice, partner
) -> None:
    case = _full_case(ctx, alice, partner)
    request_id = case.request_id
    cases = list(Case.objects.filter(request_id=request_id))
    keys = set()
    for each in cases:
        keys |= _declared_keys(each)

    for each in cases:
        each.refresh_from_db()
        case_delete(ctx=ctx, actor=alice, case=each, expected_version=each.version)

    for member in keyset.members("case"):
        assert not member.model._default_manager.filter(
            **{f"{member.link}_id__in": [c.pk for c in cases]}
        ).exists()
    for member in keyset.members("request"):
        assert not member.rows(request_id).exists()
    assert not Request.objects.filter(pk=request_id).exists()
    assert not Group.objects.filter(pk=case.group_id).exists()
    assert not Message.objects.filter(request_id=request_id).exists()
    assert not DataKey.objects.filter(pk__in=keys).exists()
    assert not Grant.objects.filter(data_key_id__in=keys).exists()


@pytest.mark.django_db(transaction=True)
def test_a_request_that_fails_half_way_leaves_no_row_behind(org, alice, monkeypatch) -> None:
    """request_create is one transaction: a failure after the request's row is written (here,
    while its people are stored) leaves neither the request nor its key, committed for real."""
    import haven.cases.services as services

    def boom(**kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(services, "request_people_create", boom)
    before = (Request.objects.count(), DataKey.objects.count(), Grant.objects.count())
    with pytest.raises(RuntimeError):
        request_create(
            ctx=ctx_for(alice),
            actor=alice,
            channel=Channel.STAFF,
            account="One person.",
            people=PersonInputFactory.build_batch(1),
        )
    assert not transaction.get_connection().in_atomic_block
    assert connection.in_atomic_block is False
    assert (Request.objects.count(), DataKey.objects.count(), Grant.objects.count()) == before
