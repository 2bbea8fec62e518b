"""The cleaned copy of a PDF keeps nothing that runs or calls out, whatever the way in, and the
page says truly what was removed (a corpus of hostile PDFs: tests/attachments/hostile_pdfs.py)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pikepdf
import pytest
from django.urls import reverse

from haven.attachments.selectors import ORIGINAL, attachment_download, attachment_rows
from haven.attachments.services import attachment_add
from tests.attachments import hostile_pdfs
from tests.attachments.hostile_pdfs import VECTORS, VISIBLE, Hostile
from tests.factories import ctx_for, login, make_request

pytestmark = pytest.mark.django_db

# Every action type of ISO 32000-2 but GoTo (a jump within the document).
ACTIONS = {
    "/JavaScript",
    "/Launch",
    "/URI",
    "/SubmitForm",
    "/ImportData",
    "/GoToR",
    "/GoToE",
    "/GoToDp",
    "/Rendition",
    "/Sound",
    "/Movie",
    "/RichMediaExecute",
    "/GoTo3DView",
    "/Hide",
    "/Named",
    "/SetOCGState",
    "/Trans",
    "/Thread",
    "/ResetForm",
}
# Keys that hold or trigger something that runs or calls out, or an embedded file.
FORBIDDEN_KEYS = {
    "/JS",
    "/AA",
    "/OpenAction",
    "/A",
    "/URI",
    "/Next",
    "/EmbeddedFiles",
    "/EF",
    "/AF",
    "/XFA",
    "/Names",
    "/AcroForm",
    "/Annots",
    "/Outlines",
    "/Win",
    "/Launch",
    "/RichMediaContent",
    "/3DD",
    "/Metadata",
    "/Thumb",
}
FORBIDDEN_SUBTYPES = {
    "/Link",
    "/Widget",
    "/Screen",
    "/Movie",
    "/Sound",
    "/RichMedia",
    "/3D",
    "/FileAttachment",
    "/Text",
}


def _every_object(pdf: pikepdf.Pdf) -> Iterator[object]:
    """Every object of the document, nested ones included: the trailer, every indirect object
    (reachable or not) and what they hold."""
    seen: set[tuple[int, int]] = set()
    stack: list[object] = [pdf.trailer, *pdf.objects]
    while stack:
        obj = stack.pop()
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        yield obj
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            stack.extend(obj.values())
        elif isinstance(obj, pikepdf.Array):
            stack.extend(obj)


def _assert_nothing_active(cleaned: bytes, markers: tuple[str, ...]) -> None:
    texts = [cleaned]
    with pikepdf.open(io.BytesIO(cleaned)) as pdf:
        assert "/Info" not in pdf.trailer or not pdf.docinfo.keys()
        for obj in _every_object(pdf):
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                keys = set(obj.keys())
                assert not keys & FORBIDDEN_KEYS, keys & FORBIDDEN_KEYS
                assert str(obj.get("/S", "")) not in ACTIONS
                assert str(obj.get("/Subtype", "")) not in FORBIDDEN_SUBTYPES
            if isinstance(obj, pikepdf.Stream):
                # Data fetched from elsewhere, or another file's page.
                assert not {"/F", "/FFilter", "/FDecodeParms", "/Ref", "/OPI"} & set(obj.keys())
                texts.append(obj.read_bytes())
            elif isinstance(obj, pikepdf.String):
                texts.append(bytes(obj))
        assert pdf.Root.keys() <= {"/Type", "/Pages"}
        # What the page shows is kept.
        contents = pdf.pages[0].obj.Contents
        parts = contents if isinstance(contents, pikepdf.Array) else [contents]
        assert VISIBLE.encode() in b"".join(part.read_bytes() for part in parts)
    for marker in ("MARK-", "app.alert", *markers):
        for text in texts:
            assert marker.encode() not in text, marker


def _add(ctx, alice, content: bytes, name: str = "hostile.pdf"):
    request = make_request(ctx=ctx, actor=alice)
    attachment_add(ctx=ctx, actor=alice, request=request, name=name, content=content)
    [row] = attachment_rows(ctx=ctx, user=alice, request=request)
    return request, row


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_each_hostile_pdf_loses_what_runs_or_calls_out_and_says_so(alice, vector: Hostile):
    ctx = ctx_for(alice)
    document = hostile_pdfs.build(vector)
    _request, row = _add(ctx, alice, document)
    cleaned = attachment_download(ctx=ctx, user=alice, attachment=row.attachment).content
    _assert_nothing_active(cleaned, vector.markers)
    assert vector.removed <= set(row.removed), (vector.removed, row.removed)
    # The original is kept as it came, for the supervisors.
    original = attachment_download(ctx=ctx, user=alice, attachment=row.attachment, copy=ORIGINAL)
    assert original.content == document


def test_a_pdf_with_every_vector_at_once_is_cleaned_and_the_page_lists_what_went(
    client, alice, bob
):
    ctx = ctx_for(alice)
    request = make_request(ctx=ctx, actor=alice, owner=bob)
    attachment_add(
        ctx=ctx, actor=alice, request=request, name="all.pdf", content=hostile_pdfs.everything()
    )
    [row] = attachment_rows(ctx=ctx, user=alice, request=request)
    cleaned = attachment_download(ctx=ctx, user=alice, attachment=row.attachment).content
    _assert_nothing_active(cleaned, tuple(m for v in VECTORS for m in v.markers))
    every = set().union(*(v.removed for v in VECTORS))
    assert every <= set(row.removed)
    assert row.removed_counts["javascript"] >= 15  # each JavaScript action, wherever it was

    login(client, bob)
    html = client.get(reverse("web:request", args=[request.pk])).content.decode()
    for label in (
        "JavaScript (",
        "web addresses it would open",
        "commands that start programs",
        "forms that send to an address",
        "data imported from other files",
        "links to other files",
        "sound, video, 3D and rich media",
        "actions that hide parts of pages",
        "an action on opening",
        "automatic actions",
        "embedded files",
        "an XFA form",
        "content fetched from elsewhere",
        "bookmarks",
        "form fields",
        "comments and notes",
        "document details",
    ):
        assert label in html, label


def test_a_plain_pdf_says_nothing_was_removed_and_keeps_its_text(alice):
    ctx = ctx_for(alice)
    _request, row = _add(ctx, alice, hostile_pdfs.build())
    assert row.removed == []
    cleaned = attachment_download(ctx=ctx, user=alice, attachment=row.attachment).content
    _assert_nothing_active(cleaned, ())


def test_a_filled_in_form_keeps_its_values_drawn_on_the_page(alice):
    ctx = ctx_for(alice)
    _request, row = _add(ctx, alice, hostile_pdfs.build(VECTORS[3]))  # widget_actions
    cleaned = attachment_download(ctx=ctx, user=alice, attachment=row.attachment).content
    with pikepdf.open(io.BytesIO(cleaned)) as pdf:
        shown = b"".join(
            obj.read_bytes() for obj in _every_object(pdf) if isinstance(obj, pikepdf.Stream)
        )
    assert b"Filled-in value" in shown
