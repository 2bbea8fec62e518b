"""The printable case file: a PDF in memory, Korean and English, marked, audited."""

from __future__ import annotations

import io

import pikepdf
import pytest
from django.test import Client, override_settings

from haven.audit.models import AuditEntry
from haven.cases.services import PersonInput, note_add, request_create
from haven.documents.pdf import FontMissingError, render_document
from tests.factories import ctx_for, login, make_case

pytestmark = pytest.mark.django_db


def _case(ctx, alice):
    case = request_create(
        ctx=ctx,
        actor=alice,
        channel="staff",
        account="우리는 떠나고 싶습니다.",
        people=[
            PersonInput(
                name_hangul="김선희", name_romanized="Kim Sun-hui", own_words="제가 결정했습니다."
            )
        ],
    ).cases.get()
    note_add(ctx=ctx, actor=alice, case=case, text="전화 통화함. Called her.")
    return case


def _fonts(pdf: pikepdf.Pdf) -> set[str]:
    names = set()
    for page in pdf.pages:
        for font in page.Resources.Font.values():
            names.add(str(font.BaseFont))
    return names


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_case_prints_as_a_pdf_with_the_hangul_font(alice, ctx, lang) -> None:
    case = _case(ctx, alice)
    client = Client()
    login(client, alice)
    response = client.get(f"/cases/{case.pk}/print/?lang={lang}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    pdf = pikepdf.open(io.BytesIO(response.content))
    assert any("Nanum" in name for name in _fonts(pdf))
    assert "/Title" not in pdf.docinfo or str(pdf.docinfo.Title) == ""
    assert "/Author" not in pdf.docinfo
    entry = AuditEntry.objects.get(action="case.print")
    assert entry.actor == alice and entry.detail["language"] == lang


def test_only_people_holding_the_case_print_it(alice, bob, carol, grace, ctx) -> None:
    case = make_case(ctx=ctx_for(carol), actor=carol, owner=carol)
    client = Client()
    login(client, bob)  # team A: not carol's case
    assert client.get(f"/cases/{case.pk}/print/").status_code == 404
    login(client, grace)
    assert client.get(f"/cases/{case.pk}/print/").status_code == 403
    assert not AuditEntry.objects.filter(action="case.print").exists()


@override_settings(HAVEN_PDF_FONT="/nonexistent/font.ttf")
def test_a_missing_font_is_a_clear_error(alice, ctx) -> None:
    with pytest.raises(FontMissingError, match="fonts-nanum"):
        render_document(title="x", paragraphs=["y"], language="en")
    case = _case(ctx, alice)
    client = Client()
    login(client, alice)
    response = client.get(f"/cases/{case.pk}/print/", follow=True)
    assert "fonts-nanum" in response.content.decode()
    assert not AuditEntry.objects.filter(action="case.print").exists()


def test_render_document_for_other_features() -> None:
    data = render_document(
        title="보도자료 Press statement",
        paragraphs=["첫 문단.", "Second paragraph. " * 800],
        language="ko",
        marking="Draft",
    )
    pdf = pikepdf.open(io.BytesIO(data))
    assert len(pdf.pages) >= 2
