"""The API's view of a request's files: the list, the cleaned copy, the original."""

from __future__ import annotations

import pytest

from haven.attachments.services import attachment_add
from tests.attachments import samples
from tests.factories import ctx_for, make_request

pytestmark = pytest.mark.django_db


def test_list_and_download_a_requests_files(client_for, alice, bob, carol):
    ctx = ctx_for(alice)
    request = make_request(ctx=ctx, actor=alice, owner=bob)
    document = samples.pdf_with_metadata()
    attachment = attachment_add(
        ctx=ctx, actor=alice, request=request, name="letter.pdf", content=document
    )

    listed = client_for(bob).get(f"/api/requests/{request.pk}/attachments/")
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["id"] == str(attachment.pk) and row["name"] == "letter.pdf"
    assert row["kind"] == "pdf" and "docinfo" in row["removed"]
    assert row["original"] is None  # a caseworker may not open the original

    cleaned = client_for(bob).get(row["download"])
    assert cleaned.status_code == 200 and cleaned["Content-Type"] == "application/pdf"
    assert cleaned["Content-Disposition"] == 'attachment; filename="letter.pdf"'
    assert cleaned["X-Content-Type-Options"] == "nosniff"
    assert b"ProducerMarker" not in cleaned.content
    assert client_for(bob).get(f"/api/attachments/{attachment.pk}/original/").status_code == 403

    supervisor = client_for(alice).get(f"/api/requests/{request.pk}/attachments/").json()[0]
    original = client_for(alice).get(supervisor["original"])
    assert original.status_code == 200 and original.content == document

    # Another team's caseworker: as if it did not exist.
    assert client_for(carol).get(f"/api/attachments/{attachment.pk}/download/").status_code == 404
    assert client_for(carol).get(f"/api/requests/{request.pk}/attachments/").status_code == 404
