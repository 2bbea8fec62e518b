"""Coming back with the receipt to add files: sealed like files sent with the request, listed for
staff; a refused file or a wrong receipt stores nothing, and what was typed is kept."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from haven.attachments.models import Attachment
from haven.attachments.selectors import attachment_download, attachment_rows
from haven.audit.models import AuditEntry
from haven.cases.models import Request
from haven.messaging.models import Author, Message
from haven.messaging.services import message_send
from haven.portal import limits
from haven.vault.models import DataKey
from tests.attachments import samples
from tests.factories import ctx_for
from tests.portal.helpers import check_status, hidden, receipt_of, submit

TYPED = "Here is the photo of the contract they made us sign."


@pytest.fixture
def came(client, dave):
    """A request from the portal and its receipt; dave (intake) has replied."""
    receipt = receipt_of(submit(client, ["Kim"]))
    request = Request.objects.get()
    message_send(ctx=ctx_for(dave), actor=dave, request=request, body="Can you send a photo?")
    return request, receipt


def _file(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def _page(client, receipt: str) -> str:
    response = check_status(client, receipt)
    assert response.status_code == 200
    return response.content.decode()


def _send(client, page_html: str, body: str, files: list[SimpleUploadedFile], **override: str):
    data: dict[str, object] = {
        "token": hidden(page_html, "token"),
        "receipt": hidden(page_html, "receipt"),
        "body": body,
        "attachments": files,
    }
    data.update(override)
    return client.post(reverse("portal:status_message-en"), data)


def _stored() -> tuple[int, int, int]:
    return (
        Attachment.objects.count(),
        Message.objects.filter(author_kind=Author.REQUESTER).count(),
        DataKey.objects.count(),
    )


def test_the_message_form_takes_files(client, came) -> None:
    _request, receipt = came
    html = _page(client, receipt)
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file" name="attachments"' in html and "multiple" in html
    assert "Up to 5 files, at most 10 MB each." in html


def test_a_photo_added_later_is_stored_sealed_and_listed_for_staff(client, came, dave) -> None:
    request, receipt = came
    photo = samples.jpeg_with_gps()
    html = _page(client, receipt)
    response = _send(client, html, TYPED, [_file("IMG_3001.JPG", photo)])
    assert response.status_code == 200, response.content[:500]
    assert 'id="sent"' in response.content.decode()
    attachment = Attachment.objects.get()
    assert attachment.request_id == request.pk
    # Its own key, not the request's; nothing of the photo in the clear.
    assert attachment.data_key_id != request.data_key_id
    assert b"MarkerCam" not in bytes(attachment.original) + bytes(attachment.cleaned)
    # The message went with it, in the same conversation.
    message = Message.objects.get(author_kind=Author.REQUESTER)
    assert message.request_id == request.pk and b"contract" not in bytes(message.payload)
    # Staff (intake) see it with the request's files, cleaned of its camera and place details.
    rows = attachment_rows(ctx=ctx_for(dave), user=dave, request=request)
    assert [r.name for r in rows] == ["IMG_3001.JPG"]
    assert {"exif", "gps"} <= set(rows[0].removed)
    cleaned = attachment_download(ctx=ctx_for(dave), user=dave, attachment=rows[0].attachment)
    assert b"MarkerCam" not in cleaned.content
    added = AuditEntry.objects.filter(action="attachment.add")
    assert added.count() == 1 and added.get().actor_id is None
    # Sending the same page twice stores nothing more.
    again = _send(client, html, TYPED, [_file("IMG_3001.JPG", photo)])
    assert again.status_code == 200
    assert Attachment.objects.count() == 1
    assert Message.objects.filter(author_kind=Author.REQUESTER).count() == 1


def test_files_with_no_message_are_accepted(client, came, dave) -> None:
    request, receipt = came
    # Larger than the text-only body limit: the page's allowance for files applies here too.
    big = samples.noisy_png(300_000)
    response = _send(
        client,
        _page(client, receipt),
        "",
        [
            _file("room.png", big, "image/png"),
            _file("letter.pdf", samples.pdf_with_metadata(), "application/pdf"),
        ],
    )
    assert response.status_code == 200, response.content[:500]
    assert Attachment.objects.filter(request=request).count() == 2
    assert not Message.objects.filter(author_kind=Author.REQUESTER).exists()
    rows = attachment_rows(ctx=ctx_for(dave), user=dave, request=request)
    assert sorted(r.name for r in rows) == ["letter.pdf", "room.png"]


def test_neither_a_message_nor_a_file_is_refused_kindly(client, came) -> None:
    _request, receipt = came
    before = _stored()
    response = _send(client, _page(client, receipt), "", [])
    assert response.status_code == 400
    assert "Please write a message or choose a file to send." in response.content.decode()
    assert _stored() == before


def test_the_new_error_is_in_korean(client, came) -> None:
    _request, receipt = came
    html = _page(client, receipt)
    data = {"token": hidden(html, "token"), "receipt": hidden(html, "receipt"), "body": ""}
    response = client.post(reverse("portal:status_message"), data)
    assert response.status_code == 400
    assert "메시지를 쓰거나 보낼 파일을 골라 주세요." in response.content.decode()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            [
                _file("fine.png", samples.png(), "image/png"),
                _file("drawing.svg", samples.SVG_WITH_SCRIPT, "image/svg+xml"),
            ],
            "drawing.svg",
        ),
        ([_file("big.png", samples.noisy_png(300_000), "image/png")], "is too large"),
        (
            [_file(f"p{i}.png", samples.png(), "image/png") for i in range(6)],
            "Please send at most 5 files",
        ),
    ],
    ids=["svg", "too-large", "too-many"],
)
def test_a_refused_file_stores_nothing_and_keeps_the_typed_text(
    client, came, settings, files, message
) -> None:
    settings.HAVEN_ATTACHMENT_MAX_BYTES = 100_000
    _request, receipt = came
    before = _stored()
    for f in files:
        f.seek(0)
    response = _send(client, _page(client, receipt), TYPED, files)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert TYPED in html and "please choose your files again" in html
    assert 'enctype="multipart/form-data"' in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert _stored() == before


def test_a_wrong_receipt_with_a_file_stores_nothing(client, came) -> None:
    _request, receipt = came
    html = _page(client, receipt)
    before = _stored()
    response = _send(
        client, html, TYPED, [_file("IMG_1.JPG", samples.jpeg_with_gps())], receipt="1" * 20
    )
    assert response.status_code == 400
    assert TYPED not in response.content.decode()
    assert _stored() == before
    assert limits.receipt_failures.failures(limits.receipt_bucket("1" * 20)) == 1


def test_a_20_digit_receipt_carries_the_files(client, came) -> None:
    request, receipt = came
    digits = receipt.replace("-", "")
    assert len(digits) == 20 and digits.isdigit()
    html = _page(client, receipt)
    assert hidden(html, "receipt") == digits
    # Typed with the dashes as shown, the hidden value works the same.
    response = _send(
        client, html, "", [_file("a.webp", samples.webp(), "image/webp")], receipt=receipt
    )
    assert response.status_code == 200
    assert Attachment.objects.filter(request=request).count() == 1
