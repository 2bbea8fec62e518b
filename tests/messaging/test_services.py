"""Messages between staff and a request's requester: who can seal, who can open, bad input."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from haven.audit.models import AuditEntry
from haven.cases.models import Request
from haven.cases.selectors import request_get, request_list
from haven.cases.services import case_delete, case_grant
from haven.crypto import CryptoError
from haven.messaging.models import Author, Conversation, Message, RequesterKey
from haven.messaging.selectors import message_list
from haven.messaging.services import MAX_BODY_CHARS, message_send
from haven.portal.conversation import requester_message_add, requester_open
from haven.portal.receipts import receipt_keys_of, receipt_normalise
from haven.portal.services import Submission, portal_request_create
from haven.vault.models import DataKey, Grant
from tests.factories import ctx_for, make_request


def _portal_request(names: tuple[str, ...] = ("Kim",)) -> tuple[Request, str]:
    submission = Submission(
        names=list(names),
        country="CN",
        region="",
        urgency=3,
        account="We want to leave.",
        contact="",
    )
    return portal_request_create(submission=submission, form_token="t-" + "-".join(names))


@pytest.fixture
def asked(dave) -> tuple[Request, str]:
    """A request from the portal (dave, intake, exists so that the intake key is held)."""
    request, receipt = _portal_request()
    return request, receipt


def test_a_portal_request_gets_a_requester_key_and_a_conversation(asked) -> None:
    request, receipt = asked
    stored = RequesterKey.objects.get(request=request)
    conversation = Conversation.objects.get(request=request)
    assert conversation.party == Author.REQUESTER
    assert bytes(conversation.party_public_key) == bytes(stored.public_key)
    # The private half opens only with the receipt.
    assert receipt_keys_of(receipt).party_key_open(
        bytes(stored.wrapped_private)
    ).public_key == bytes(stored.public_key)
    with pytest.raises(CryptoError):
        receipt_keys_of("0" * 20).party_key_open(bytes(stored.wrapped_private))
    # The conversation key is held like the request's: by the intake and supervisors' keys.
    request_holders = set(
        Grant.objects.filter(data_key_id=request.data_key_id).values_list("team_key_id", flat=True)
    )
    conversation_holders = set(
        Grant.objects.filter(data_key_id=conversation.data_key_id).values_list(
            "team_key_id", flat=True
        )
    )
    assert conversation_holders == request_holders


def test_staff_reply_is_read_by_the_requester_only_with_the_receipt(asked, dave) -> None:
    request, receipt = asked
    ctx = ctx_for(dave)
    message_send(ctx=ctx, actor=dave, request=request, body="We read your request. Are you safe?")
    page = requester_open(receipt)
    assert page is not None and page.can_write
    assert [m.body for m in page.messages] == ["We read your request. Are you safe?"]
    assert page.messages[0].author_kind == Author.STAFF
    assert page.messages[0].author_name == ""  # the requester never sees staff names
    assert requester_open("1" * 16) is None
    # Nothing readable in the row.
    row = Message.objects.get()
    assert b"safe" not in bytes(row.payload)


def test_the_requester_adds_a_detail_that_intake_reads(asked, dave, alice) -> None:
    request, receipt = asked
    page = requester_message_add(receipt, "We are now in Shenyang.", form_token="one")
    assert page is not None and [m.body for m in page.messages] == ["We are now in Shenyang."]
    views = message_list(ctx=ctx_for(dave), user=dave, request=request)
    assert [(v.author_kind, v.body) for v in views] == [
        (Author.REQUESTER, "We are now in Shenyang.")
    ]
    assert AuditEntry.objects.filter(action="portal.message").count() == 1
    assert AuditEntry.objects.filter(action="message.view").count() == 1
    # The supervisors' key holds it too.
    views = message_list(ctx=ctx_for(alice), user=alice, request=request)
    assert views[0].body == "We are now in Shenyang."


def test_a_caseworker_without_a_grant_reads_no_message(asked, dave, bob, carol, alice) -> None:
    request, receipt = asked
    requester_message_add(receipt, "A detail.", form_token="one")
    with pytest.raises(Http404):
        request_get(user=carol, request_id=request.pk)
    with pytest.raises(PermissionDenied):
        message_list(ctx=ctx_for(carol), user=carol, request=request)
    with pytest.raises(PermissionDenied):
        message_send(ctx=ctx_for(carol), actor=carol, request=request, body="Hello")
    assert Message.objects.count() == 1
    # Granted the case later, bob reads the conversation written before the grant.
    case = request.cases.get()
    case_grant(ctx=ctx_for(alice), actor=alice, case=case, holder=bob)
    views = message_list(ctx=ctx_for(bob), user=bob, request=request)
    assert [v.body for v in views] == ["A detail."]
    message_send(ctx=ctx_for(bob), actor=bob, request=request, body="I am your caseworker.")
    page = requester_open(receipt)
    assert page is not None
    assert [m.body for m in page.messages] == ["A detail.", "I am your caseworker."]


@pytest.mark.parametrize("role_user", ["erin", "frank", "grace", "heidi"])
def test_roles_that_do_not_work_with_cases_cannot_send(asked, role_user, request) -> None:
    user = request.getfixturevalue(role_user)
    record, _receipt = asked
    with pytest.raises(PermissionDenied):
        message_send(ctx=ctx_for(user), actor=user, request=record, body="Hello")
    assert Message.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    ["", "   ", "x" * (MAX_BODY_CHARS + 1), "bad\x00byte", "bell\x07", None, 42, ["a list"]],
)
def test_bad_bodies_are_refused_and_store_nothing(asked, dave, body) -> None:
    request, receipt = asked
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as exc:
        message_send(ctx=ctx_for(dave), actor=dave, request=request, body=body)
    assert "body" in exc.value.message_dict
    with pytest.raises(ValidationError):
        requester_message_add(receipt, body, form_token="t")  # type: ignore[arg-type]
    assert Message.objects.count() == 0
    assert AuditEntry.objects.count() == entries


def test_hostile_markup_is_stored_as_text(asked, dave) -> None:
    request, receipt = asked
    body = "<script>alert(1)</script>"
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body=body)
    page = requester_open(receipt)
    assert page is not None and page.messages[0].body == body


def test_a_staff_request_has_nobody_outside_to_write_to(dave) -> None:
    ctx = ctx_for(dave)
    request = make_request(ctx=ctx, actor=dave, channel="staff")
    with pytest.raises(ValidationError) as exc:
        message_send(ctx=ctx, actor=dave, request=request, body="Hello")
    assert "body" in exc.value.message_dict
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_form_sent_twice_stores_one_message(asked) -> None:
    from haven.portal.services import AlreadySubmittedError

    _request, receipt = asked
    requester_message_add(receipt, "Once.", form_token="same")
    with pytest.raises(AlreadySubmittedError):
        requester_message_add(receipt, "Once.", form_token="same")
    assert Message.objects.count() == 1


def test_a_request_filed_before_messages_gets_its_key_on_the_next_visit(asked, dave) -> None:
    request, receipt = asked
    # As if filed before conversations existed.
    conversation = Conversation.objects.get(request=request)
    key_id = conversation.data_key_id
    conversation.delete()
    DataKey.objects.filter(pk=key_id).delete()
    RequesterKey.objects.filter(request=request).delete()
    page = requester_open(receipt)
    assert page is not None and page.can_write and page.messages == []
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="Welcome back.")
    again = requester_open(receipt)
    assert again is not None and [m.body for m in again.messages] == ["Welcome back."]


def test_deleting_the_last_case_destroys_the_conversation(asked, dave, alice) -> None:
    request, receipt = asked
    requester_message_add(receipt, "A detail.", form_token="one")
    conversation_key = Conversation.objects.get().data_key_id
    case = request.cases.get()
    case_delete(ctx=ctx_for(alice), actor=alice, case=case, expected_version=case.version)
    assert not Request.objects.filter(pk=request.pk).exists()
    assert not Message.objects.exists() and not Conversation.objects.exists()
    assert not DataKey.objects.filter(pk=conversation_key).exists()
    assert receipt_normalise(receipt) is not None


def test_portal_requests_land_in_the_intake_inbox(asked, dave) -> None:
    request, _receipt = asked
    assert list(request_list(user=dave, status="new")) == [request]
