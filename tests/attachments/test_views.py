"""Staff pages: a request's files on the request and case pages, and their downloads."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from haven.attachments.services import attachment_add
from haven.audit.models import AuditEntry
from tests.attachments import samples
from tests.factories import ctx_for, login, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_on_request(alice, bob):
    ctx = ctx_for(alice)
    request = make_request(ctx=ctx, actor=alice, owner=bob)
    attachment = attachment_add(
        ctx=ctx,
        actor=alice,
        request=request,
        name="../IMG 7.JPG",
        content=samples.jpeg_with_gps(),
    )
    return request, attachment


def test_the_request_and_case_pages_list_the_files(client, bob, file_on_request):
    request, attachment = file_on_request
    login(client, bob)
    for url in (
        reverse("web:request", args=[request.pk]),
        reverse("web:case", args=[request.cases.get().pk]),
    ):
        html = client.get(url).content.decode()
        assert "IMG 7.JPG" in html
        assert reverse("web:attachment", args=[attachment.pk]) in html
        # A caseworker is not offered the original.
        assert reverse("web:attachment_original", args=[attachment.pk]) not in html


def test_the_cleaned_copy_downloads_as_a_sandboxed_attachment(client, bob, file_on_request):
    _request, attachment = file_on_request
    login(client, bob)
    response = client.get(reverse("web:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"] == 'attachment; filename="IMG 7.jpg"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Cache-Control"] == "no-store"
    with Image.open(io.BytesIO(response.content)) as image:
        assert not image.getexif()
    assert AuditEntry.objects.filter(action="attachment.download", actor_id=bob.pk).count() == 1
    refused = client.get(reverse("web:attachment_original", args=[attachment.pk]))
    assert refused.status_code == 403


def test_a_supervisor_downloads_the_original_with_its_metadata(client, alice, file_on_request):
    request, attachment = file_on_request
    login(client, alice)
    html = client.get(reverse("web:request", args=[request.pk])).content.decode()
    assert reverse("web:attachment_original", args=[attachment.pk]) in html
    response = client.get(reverse("web:attachment_original", args=[attachment.pk]))
    assert response.status_code == 200 and response.content == samples.jpeg_with_gps()
    assert response["X-Content-Type-Options"] == "nosniff"
    entry = AuditEntry.objects.filter(action="attachment.download").latest("seq")
    assert entry.actor_id == alice.pk and entry.detail["copy"] == "original"


def test_a_non_ascii_name_is_offered_safely(client, alice):
    ctx = ctx_for(alice)
    request = make_request(ctx=ctx, actor=alice)
    attachment = attachment_add(
        ctx=ctx, actor=alice, request=request, name='사진 "1".png', content=samples.png()
    )
    login(client, alice)
    response = client.get(reverse("web:attachment", args=[attachment.pk]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert '"' not in disposition.split("''", 1)[1]
