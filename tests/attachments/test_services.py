"""Attachments: checked by content, cleaned, sealed under keys that follow the request's, audited."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from PIL import Image

from haven.attachments.files import safe_name
from haven.attachments.models import Attachment
from haven.attachments.selectors import (
    CLEANED,
    ORIGINAL,
    attachment_download,
    attachment_get,
    attachment_rows,
)
from haven.attachments.services import attachment_add
from haven.audit.models import AuditEntry
from haven.cases.services import case_delete, case_grant, case_revoke
from haven.crypto import CryptoError, MissingKeyError
from haven.vault.models import DataKey, Grant
from haven.vault.sealed import blob_open, payload_read
from tests.attachments import samples
from tests.factories import ctx_for, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx(alice):
    return ctx_for(alice)


def _add(ctx, actor, request, name: str, content: bytes) -> Attachment:
    return attachment_add(ctx=ctx, actor=actor, request=request, name=name, content=content)


def _exif_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {"exif": dict(exif), "gps": dict(exif.get_ifd(samples.GPS_IFD)), "size": image.size}


def test_a_photo_with_gps_is_offered_without_it_and_the_original_keeps_it(ctx, alice):
    request = make_request(ctx=ctx, actor=alice)
    photo = samples.jpeg_with_gps(size=(80, 60), orientation=6)
    assert _exif_of(photo)["gps"]  # the sample really carries a location

    attachment = _add(ctx, alice, request, "IMG_0001.JPG", photo)

    cleaned = attachment_download(ctx=ctx, user=alice, attachment=attachment, copy=CLEANED)
    assert cleaned.mime == "image/jpeg" and cleaned.name == "IMG_0001.jpg"
    found = _exif_of(cleaned.content)
    assert found["exif"] == {} and found["gps"] == {}
    assert found["size"] == (60, 80)  # the EXIF orientation was applied before it was dropped
    for marker in (b"MarkerCam", b"Spy Phone", b"taken at the border", b"Exif"):
        assert marker not in cleaned.content

    original = attachment_download(ctx=ctx, user=alice, attachment=attachment, copy=ORIGINAL)
    assert original.content == photo
    assert _exif_of(original.content)["gps"][2] == (39.0, 1.0, 10.5)

    [row] = attachment_rows(ctx=ctx, user=alice, request=request)
    assert row.name == "IMG_0001.JPG" and row.kind == "image"
    assert {"exif", "gps", "comment"} <= set(row.removed)


def test_a_pdf_loses_its_author_producer_xmp_and_javascript(ctx, alice):
    request = make_request(ctx=ctx, actor=alice)
    document = samples.pdf_with_metadata(text="Visible text stays")
    attachment = _add(ctx, alice, request, "statement.pdf", document)

    cleaned = attachment_download(ctx=ctx, user=alice, attachment=attachment).content
    with pikepdf.open(io.BytesIO(cleaned)) as pdf:
        assert "/Info" not in pdf.trailer or not pdf.docinfo.keys()
        assert "/Metadata" not in pdf.Root and "/OpenAction" not in pdf.Root
        assert b"Visible text stays" in pdf.pages[0].Contents.read_bytes()
    for marker in (b"Kim Author-Marker", b"ProducerMarker", b"app.alert"):
        assert marker not in cleaned
    original = attachment_download(ctx=ctx, user=alice, attachment=attachment, copy=ORIGINAL)
    assert original.content == document and b"ProducerMarker" in original.content
    [row] = attachment_rows(ctx=ctx, user=alice, request=request)
    assert {"docinfo", "xmp", "open_action"} <= set(row.removed)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("drawing.svg", samples.SVG_WITH_SCRIPT, "only photos"),
        ("photo.jpg", samples.EXE, "only photos"),  # an executable, renamed
        ("photo.jpg", samples.zip_bomb(inflated=20_000_000), "only photos"),
        ("page.png", b"<html><script>alert(1)</script></html>", "only photos"),
        ("bomb.png", samples.png_bomb(), "too large for us"),
        ("broken.jpg", samples.jpeg_with_gps()[:200], "could not open"),
        ("broken.pdf", b"%PDF-1.7\n garbage", "could not open"),
        ("empty-looking.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "could not open"),
    ],
)
def test_anything_else_is_refused_kindly_and_nothing_is_stored(ctx, alice, name, content, code):
    request = make_request(ctx=ctx, actor=alice)
    keys = DataKey.objects.count()
    with pytest.raises(ValidationError) as refused:
        _add(ctx, alice, request, name, content)
    assert code in " ".join(refused.value.message_dict["attachments"])
    assert Attachment.objects.count() == 0 and DataKey.objects.count() == keys
    assert not AuditEntry.objects.filter(action="attachment.add").exists()


def test_a_polyglot_is_taken_as_the_image_it_starts_with_and_its_tail_is_dropped(ctx, alice):
    request = make_request(ctx=ctx, actor=alice)
    polyglot = samples.polyglot_jpeg_zip()
    attachment = _add(ctx, alice, request, "photo.jpg.zip", polyglot)
    cleaned = attachment_download(ctx=ctx, user=alice, attachment=attachment)
    assert cleaned.name == "photo.jpg.jpg" or cleaned.name.endswith(".jpg")
    assert b"PK\x03\x04" not in cleaned.content


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system32\\evil.png", "evil.png"),
        ("/absolute/path/photo.jpg", "photo.jpg"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override hiding ".exe"
        ("nul\x00byte\x07bell.png", "nulbytebell.png"),
        ("...hidden.png", "hidden.png"),
        ('what<>:"|?*.png', "what_______.png"),
        ("", "attachment"),
        ("../..", "attachment"),
        ("사진 1.jpg", "사진 1.jpg"),
    ],
)
def test_file_names_are_made_safe(raw, expected):
    assert safe_name(raw) == expected


def test_a_huge_name_is_cut_keeping_its_extension():
    name = safe_name("a" * 5_000 + ".png")
    assert len(name) <= 100 and name.endswith(".png")


def test_the_original_is_for_supervisors_and_every_download_is_audited(ctx, alice, bob):
    request = make_request(ctx=ctx, actor=alice, owner=bob)
    attachment = _add(ctx, alice, request, "p.png", samples.png())
    bob_ctx = ctx_for(bob)
    found = attachment_get(user=bob, attachment_id=attachment.pk)
    assert attachment_download(ctx=bob_ctx, user=bob, attachment=found).mime == "image/png"
    with pytest.raises(PermissionDenied):
        attachment_download(ctx=bob_ctx, user=bob, attachment=found, copy=ORIGINAL)
    attachment_download(ctx=ctx, user=alice, attachment=attachment, copy=ORIGINAL)

    added = AuditEntry.objects.get(action="attachment.add")
    assert added.actor_id == alice.pk and added.detail["kind"] == "image"
    downloads = AuditEntry.objects.filter(action="attachment.download").order_by("seq")
    assert [(e.actor_id, e.detail["copy"]) for e in downloads] == [
        (bob.pk, "cleaned"),
        (alice.pk, "original"),
    ]
    assert "p.png" not in str(added.detail)


def test_the_file_key_follows_the_request_key(ctx, alice, carol):
    request = make_request(ctx=ctx, actor=alice, people=2)
    attachment = _add(ctx, alice, request, "p.png", samples.png())
    holders = set(
        Grant.objects.filter(data_key_id=request.data_key_id).values_list("user_id", "team_key_id")
    )
    assert (
        set(
            Grant.objects.filter(data_key_id=attachment.data_key_id).values_list(
                "user_id", "team_key_id"
            )
        )
        == holders
    )
    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(carol), record=attachment)

    first, second = request.cases.order_by("opened_at", "id")
    case_grant(ctx=ctx, actor=alice, case=first, holder=carol)
    assert attachment_rows(ctx=ctx_for(carol), user=carol, request=request)[0].name == "p.png"

    # Revoked from one case, carol still holds the other: the request and its files stay hers.
    case_grant(ctx=ctx, actor=alice, case=second, holder=carol)
    first.refresh_from_db()
    case_revoke(ctx=ctx, actor=alice, case=first, holder=carol)
    assert attachment_get(user=carol, attachment_id=attachment.pk)
    second.refresh_from_db()
    case_revoke(ctx=ctx, actor=alice, case=second, holder=carol)
    assert attachment_rows(ctx=ctx_for(carol), user=carol, request=request) == []


def test_deleting_the_request_destroys_its_files_and_their_keys(ctx, alice):
    request = make_request(ctx=ctx, actor=alice)
    attachment = _add(ctx, alice, request, "p.png", samples.png())
    case = request.cases.get()
    case_delete(ctx=ctx, actor=alice, case=case, expected_version=case.version)
    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not DataKey.objects.filter(pk=attachment.data_key_id).exists()
    assert not Grant.objects.filter(data_key_id=attachment.data_key_id).exists()


def test_a_sealed_file_moved_to_another_attachment_does_not_open(ctx, alice):
    request = make_request(ctx=ctx, actor=alice)
    one = _add(ctx, alice, request, "one.png", samples.png())
    two = _add(ctx, alice, request, "two.png", samples.png(size=(10, 10)))
    stolen = bytes(Attachment.objects.values_list("cleaned", flat=True).get(pk=one.pk))
    with pytest.raises(CryptoError):
        blob_open(ctx=ctx, record=two, part="cleaned", blob=stolen)
    with pytest.raises(CryptoError):  # nor the original in the cleaned copy's place
        blob_open(ctx=ctx, record=one, part="cleaned", blob=bytes(one.original))


def test_roles_without_files_are_refused_and_see_none(ctx, alice, erin, frank):
    request = make_request(ctx=ctx, actor=alice)
    attachment = _add(ctx, alice, request, "p.png", samples.png())
    for user in (erin, frank):
        with pytest.raises(PermissionDenied):
            attachment_get(user=user, attachment_id=attachment.pk)
        assert attachment_rows(ctx=ctx_for(user), user=user, request=request) == []
    with pytest.raises(PermissionDenied):
        _add(ctx_for(erin), erin, request, "x.png", samples.png())


def test_nothing_of_the_file_is_stored_in_the_clear(ctx, alice):
    request = make_request(ctx=ctx, actor=alice)
    marker = "PlaintextMarker-7f3a"
    attachment = _add(ctx, alice, request, f"{marker}.png", samples.png(text=marker))
    row = Attachment.objects.filter(pk=attachment.pk).values().get()
    for value in row.values():
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        assert marker.encode() not in raw
