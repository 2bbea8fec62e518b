"""Files sent through the portal: sealed on arrival, cleaned, kept in memory only; hostile files
and bodies are refused kindly, keep what the person typed, and store nothing."""

from __future__ import annotations

import os
import tempfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from haven.attachments.models import Attachment
from haven.attachments.selectors import ORIGINAL, attachment_download, attachment_rows
from haven.audit.models import AuditEntry
from haven.cases.models import Case, Request
from haven.portal.models import Receipt
from haven.vault.models import DataKey
from tests.attachments import samples
from tests.factories import ctx_for
from tests.portal.helpers import receipt_of, request_form, submit

ACCOUNT = "Two of us work in the restaurant and want to leave."
BOUNDARY = "HavenTestBoundary7MA4YWxk"


def _stored() -> tuple[int, int, int, int]:
    return (
        Request.objects.count(),
        Case.objects.count(),
        Receipt.objects.count(),
        Attachment.objects.count(),
    )


def _file(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def _send(client, files: list[SimpleUploadedFile], **extra):
    return submit(client, ["Kim", "Ri"], account=ACCOUNT, lang="en", attachments=files, **extra)


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, str]]) -> bytes:
    """A multipart body as a browser builds it, with file names exactly as given (Django's test
    client would strip their paths before they reach the server)."""
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for filename, content, ctype in files:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _fields(client) -> dict[str, str]:
    data = request_form(client, 1, lang="en")
    data.update(
        {"name_0": "Kim", "country": "CN", "region": "", "urgency": "3", "account": ACCOUNT}
    )
    return data


def _post_raw(client, body: bytes, content_type: str | None = None):
    return client.post(
        reverse("portal:ask-en"),
        body,
        content_type=content_type or f"multipart/form-data; boundary={BOUNDARY}",
    )


@pytest.fixture
def watched_tmp(tmp_path, monkeypatch):
    """A fresh temporary directory for everything in this process, and Django's temporary
    upload file made impossible: a plaintext copy on disk would fail the test either way."""
    from django.core.files import uploadedfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to a temporary file")

    monkeypatch.setattr(uploadedfile.TemporaryUploadedFile, "__init__", refuse)
    return folder


def _kept_typed_text(response) -> None:
    html = response.content.decode()
    assert ACCOUNT in html and 'value="Kim"' in html
    assert "please choose your files again" in html


# --- What is stored ---------------------------------------------------------------------------


def test_uploads_are_held_in_memory_only() -> None:
    assert settings.FILE_UPLOAD_HANDLERS == ["haven.attachments.uploads.MemoryOnlyUploadHandler"]


@pytest.mark.django_db
def test_a_request_with_a_photo_and_a_pdf_is_stored_sealed_and_cleaned(client, dave, alice):
    photo = samples.jpeg_with_gps()
    document = samples.pdf_with_metadata()
    response = _send(
        client,
        [_file("IMG_2041.JPG", photo), _file("letter.pdf", document, "application/pdf")],
    )
    assert response.status_code == 200 and receipt_of(response)
    request = Request.objects.get()
    assert Attachment.objects.filter(request=request).count() == 2

    rows = attachment_rows(ctx=ctx_for(dave), user=dave, request=request)
    assert sorted(r.name for r in rows) == ["IMG_2041.JPG", "letter.pdf"]
    by_name = {r.name: r for r in rows}
    assert {"exif", "gps"} <= set(by_name["IMG_2041.JPG"].removed)
    cleaned = attachment_download(
        ctx=ctx_for(dave), user=dave, attachment=by_name["IMG_2041.JPG"].attachment
    )
    assert b"MarkerCam" not in cleaned.content and b"Exif" not in cleaned.content
    original = attachment_download(
        ctx=ctx_for(alice), user=alice, attachment=by_name["letter.pdf"].attachment, copy=ORIGINAL
    )
    assert original.content == document
    # Each file has its own key, sealed like the request's; one audit entry per file.
    keys = set(Attachment.objects.values_list("data_key_id", flat=True))
    assert len(keys) == 2 and request.data_key_id not in keys
    added = AuditEntry.objects.filter(action="attachment.add")
    assert added.count() == 2 and {e.actor_id for e in added} == {None}


@pytest.mark.django_db(transaction=True)
def test_nothing_of_an_uploaded_file_is_at_rest_in_the_clear(client, org):
    from tests.vault.test_no_plaintext import _database_bytes

    marker = "AttachmentPlaintextMarker-4b1d"
    response = _send(
        client,
        [
            _file(f"{marker}.png", samples.png(text=marker), "image/png"),
            _file("doc.pdf", samples.pdf_with_metadata(text=marker), "application/pdf"),
        ],
    )
    assert response.status_code == 200
    assert Attachment.objects.count() == 2
    assert marker.encode() not in _database_bytes()


@pytest.mark.django_db
def test_a_large_upload_never_touches_the_disk(client, org, watched_tmp):
    # Over Django's 2.5 MB in-memory threshold, under Haven's per-file limit.
    big = samples.noisy_png(4_000_000)
    assert len(big) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    response = _send(client, [_file("big.png", big, "image/png")])
    assert response.status_code == 200, response.content[:500]
    assert Attachment.objects.count() == 1
    assert list(watched_tmp.iterdir()) == []


# --- Refused files keep what was typed ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "ctype", "message"),
    [
        ("drawing.svg", samples.SVG_WITH_SCRIPT, "image/svg+xml", "only photos"),
        ("photo.jpg", samples.EXE, "image/jpeg", "only photos"),
        ("photos.zip", samples.zip_bomb(), "application/zip", "only photos"),
        ("photo.jpg", samples.zip_bomb(), "image/jpeg", "only photos"),
        ("bomb.png", samples.png_bomb(), "image/png", "too large for us"),
        ("page.html", b"<!doctype html><script>alert(1)</script>", "image/png", "only photos"),
    ],
)
def test_a_refused_file_keeps_the_typed_text_and_stores_nothing(
    client, org, name, content, ctype, message
):
    keys = DataKey.objects.count()
    response = _send(
        client, [_file("fine.png", samples.png(), "image/png"), _file(name, content, ctype)]
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and name in html
    _kept_typed_text(response)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert _stored() == (0, 0, 0, 0) and DataKey.objects.count() == keys


@pytest.mark.django_db
def test_a_file_over_the_limit_is_dropped_while_it_arrives(client, org, settings, watched_tmp):
    settings.HAVEN_ATTACHMENT_MAX_BYTES = 100_000
    response = _send(client, [_file("big.png", samples.noisy_png(300_000), "image/png")])
    assert response.status_code == 400
    assert "is too large: each file may be at most" in response.content.decode()
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)
    assert list(watched_tmp.iterdir()) == []


@pytest.mark.django_db
def test_files_too_large_together_are_dropped_while_they_arrive(client, org, settings):
    settings.HAVEN_ATTACHMENT_MAX_BYTES = 100_000
    settings.HAVEN_ATTACHMENT_MAX_TOTAL_BYTES = 150_000
    files = [_file(f"p{i}.png", samples.noisy_png(80_000), "image/png") for i in range(2)]
    response = _send(client, files)
    assert response.status_code == 400
    assert "too large together" in response.content.decode()
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_too_many_files_are_refused(client, org, settings):
    settings.HAVEN_ATTACHMENT_MAX_FILES = 2
    files = [_file(f"p{i}.png", samples.png(), "image/png") for i in range(3)]
    response = _send(client, files)
    assert response.status_code == 400
    assert "at most 2 files" in response.content.decode()
    _kept_typed_text(response)
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_text_error_asks_for_the_files_again_and_stores_nothing(client, org):
    response = submit(
        client, ["Kim"], account="", lang="en", attachments=[_file("p.png", samples.png())]
    )
    assert response.status_code == 400
    assert "please choose your files again" in response.content.decode()
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_50_mb_file_is_refused_before_it_is_read(client, org, watched_tmp, monkeypatch):
    from haven.attachments import uploads

    def never(*args, **kwargs):
        raise AssertionError("the body was read")

    monkeypatch.setattr(uploads.MemoryOnlyUploadHandler, "receive_data_chunk", never)
    data = request_form(client, 1, lang="en")
    data.update({"name_0": "Kim", "urgency": "3", "account": ACCOUNT})
    data["attachments"] = _file("huge.jpg", b"\xff\xd8\xff" + b"\x00" * 50_000_000)
    response = client.post(reverse("portal:ask-en"), data)
    assert response.status_code == 413
    assert "Each file may be at most" in response.content.decode()
    assert _stored() == (0, 0, 0, 0)
    assert list(watched_tmp.iterdir()) == []


# --- Names and malformed bodies ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../../etc/passwd.png", "passwd.png"),
        ("..\\..\\Windows\\win.ini.png", "win.ini.png"),
        ("photo\u202egnp.exe.png", "photognp.exe.png"),
        ("사진" * 120 + ".png", None),  # 240 characters, as long as file systems allow
    ],
)
def test_path_traversal_and_hostile_names_are_made_safe(client, dave, filename, stored):
    body = multipart(_fields(client), [(filename, samples.png(), "image/png")])
    response = _post_raw(client, body)
    assert response.status_code == 200, response.content[:300]
    [row] = attachment_rows(ctx=ctx_for(dave), user=dave, request=Request.objects.get())
    if stored is not None:
        assert row.name == stored
    assert len(row.name) <= 100 and "/" not in row.name and "\\" not in row.name
    assert not any(ord(ch) < 32 or 0x202A <= ord(ch) <= 0x202E for ch in row.name)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # A file part whose base64 does not decode.
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="a.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!*not base64*\r\n'
            f"--{BOUNDARY}--\r\n".encode(),
            None,
        ),
        # No boundary at all.
        (
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
            "multipart/form-data",
        ),
        # A boundary that never closes, in the middle of a file.
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="a.jpg"\r\n\r\n'.encode()
            + samples.jpeg_with_gps()[:300],
            None,
        ),
        # Headers of a part that are not headers.
        (f"--{BOUNDARY}\r\n\x00\x01\x02garbage\r\n\r\n--{BOUNDARY}--".encode(), None),
        # Thousands of empty file parts.
        (
            b"".join(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
                f'filename="f{i}.png"\r\n\r\n\r\n'.encode()
                for i in range(500)
            )
            + f"--{BOUNDARY}--\r\n".encode(),
            None,
        ),
    ],
)
def test_malformed_multipart_is_refused_and_stores_nothing(client, org, body, content_type):
    response = _post_raw(client, body, content_type)
    assert response.status_code in (400, 413)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_file_name_longer_than_any_file_system_allows_is_refused_kindly(client, org):
    body = multipart(_fields(client), [("a" * 3_000 + ".png", samples.png(), "image/png")])
    response = _post_raw(client, body)
    assert response.status_code == 400
    assert "could not read what your browser sent" in response.content.decode()
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_lots_of_typed_text_in_a_multipart_body_is_still_too_long(client, org):
    fields = _fields(client)
    fields["account"] = "x" * (settings.HAVEN_PORTAL_MAX_BODY_BYTES + 10)
    response = _post_raw(client, multipart(fields, [("p.png", samples.png(), "image/png")]))
    assert response.status_code == 413
    assert _stored() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_files_are_not_accepted_by_other_portal_forms_beyond_the_text_limit(client, org):
    body = multipart({"receipt": "1"}, [("p.png", b"\x00" * 300_000, "image/png")])
    response = client.post(
        reverse("portal:status-en"), body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert response.status_code == 413


@pytest.mark.django_db
def test_an_empty_file_field_is_fine(client, org):
    fields = _fields(client)
    body = multipart(fields, []).replace(
        f"--{BOUNDARY}--".encode(),
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{BOUNDARY}--'
        ).encode(),
    )
    response = _post_raw(client, body)
    assert response.status_code == 200
    assert Request.objects.count() == 1 and Attachment.objects.count() == 0


def test_no_file_is_left_in_the_temp_dir_by_the_module() -> None:
    assert not [n for n in os.listdir(tempfile.gettempdir()) if n.endswith(".upload")]


@pytest.mark.django_db
def test_refusals_are_in_korean_on_the_korean_form(client, org):
    response = submit(
        client,
        ["김선희"],
        account="식당에서 일합니다.",
        attachments=[_file("map.svg", samples.SVG_WITH_SCRIPT, "image/svg+xml")],
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "사진(JPEG, PNG, WebP)과 PDF 문서만 보낼 수 있습니다" in html
    assert "파일을 다시 선택한 뒤 보내기를 눌러 주세요" in html
    assert "식당에서 일합니다." in html
    assert _stored() == (0, 0, 0, 0)
