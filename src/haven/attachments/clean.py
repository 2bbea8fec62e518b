"""Cleaning one file: pure functions on bytes, with no Django and nothing on disk.

Run inside the decoder process (:mod:`haven.attachments.decoder`), never in a web worker: a
hostile file can cost seconds of processor time and gigabytes of memory here, which that
process's limits bound. Errors are :class:`CleanError` with a short code; the web side turns
codes into kind messages (:mod:`haven.attachments.files`).

* **Images** are re-drawn from their pixels alone, after applying the EXIF orientation: EXIF
  (GPS, camera, times), XMP, IPTC, ICC profiles, comments, extra frames and anything appended
  after the image data are left behind.
* **PDFs** are rebuilt from their pages: what each page shows (its content, with the visible
  appearance of its form fields and notes drawn into it) is copied into a new document, and
  nothing else is: no catalogue (open actions, JavaScript, embedded files, XFA, forms,
  bookmarks, names), no annotations (links, widgets, media), no page actions, thumbnails or
  metadata. A last pass over every object of the new document removes anything that could still
  run or reach out (actions, JavaScript, external stream data). What the original held is
  counted first, so the list of what was removed is true.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class CleanError(Exception):
    """A file we do not take: ``code`` is one of ``type``, ``unreadable``, ``pixels``,
    ``memory``, ``encrypted``."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class Cleaned:
    data: bytes
    format: str  # the cleaned copy's format: JPEG, PNG, WEBP or PDF
    removed: dict[str, int] = field(default_factory=dict)  # what was left out, and how often


# --- Images -----------------------------------------------------------------------------------

# Pillow format -> format of the cleaned copy (a HEIC photo becomes a JPEG every browser shows).
IMAGE_CLEAN_FORMAT = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
_EXIF_GPS_IFD = 0x8825


def _image_metadata(image: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    exif = image.getexif()
    if len(exif) or image.info.get("exif"):
        found["exif"] = 1
        if _EXIF_GPS_IFD in exif:
            found["gps"] = 1
    if image.info.get("xmp") or "XML:com.adobe.xmp" in image.info:
        found["xmp"] = 1
    if image.info.get("icc_profile"):
        found["icc_profile"] = 1
    if image.info.get("comment") or any(k in image.info for k in ("Comment", "Description")):
        found["comment"] = 1
    if any(isinstance(k, str) and k.lower() in ("author", "software", "title") for k in image.info):
        found["text"] = 1
    return found


# Full-size copies of an image alive at once while it is cleaned (4 bytes a pixel each): the
# decoded image and the fresh one (and, briefly, a turned or converted one); libwebp's animation
# decoder, which Pillow opens every WebP with, holds two canvases of its own besides.
_COPIES = {"WEBP": 4}
_COPIES_DEFAULT = 3


def memory_needed(pixels: int, kind: str) -> int:
    """About how much memory cleaning an image of ``pixels`` takes."""
    return pixels * 4 * _COPIES.get(kind, _COPIES_DEFAULT) + 16 * 1024 * 1024


def _check_size(width: int, height: int, *, kind: str, max_pixels: int, memory: int | None) -> None:
    if width < 1 or height < 1 or width * height > max_pixels:
        raise CleanError("pixels")
    if memory is not None and memory_needed(width * height, kind) > memory:
        raise CleanError("memory")


def clean_image(data: bytes, kind: str, *, max_pixels: int, memory: int | None = None) -> Cleaned:
    """The image's pixels alone, upright, re-encoded; :class:`CleanError` if it is not one, or
    (``memory``) if cleaning it would need more memory than that: refused before decoding, so
    that it is reported as what it is rather than as a failed allocation deep in a decoder."""
    from PIL import Image, UnidentifiedImageError

    from haven.attachments.headers import HeaderError, declared_size

    try:  # the size the header declares, before any decoder opens it (a WebP's opening allocates)
        declared = declared_size(data, kind)
    except HeaderError as exc:
        raise CleanError("unreadable") from exc
    if declared is not None:
        _check_size(*declared, kind=kind, max_pixels=max_pixels, memory=memory)
    if kind == "HEIF":  # pragma: no cover - only with the optional plugin
        try:
            from pillow_heif import register_heif_opener
        except ImportError as exc:
            raise CleanError("type") from exc
        register_heif_opener()
    # Pillow refuses at twice its limit and warns above it; both are refusals here.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                if image.format != kind:
                    raise CleanError("type")
                _check_size(*image.size, kind=kind, max_pixels=max_pixels, memory=memory)
                removed = _image_metadata(image)
                image.seek(0)
                frames = int(getattr(image, "n_frames", 1))
                if frames > 1:
                    removed["frames"] = frames - 1
                image.load()
                pixels = _pixels_only(image, kind)
    except CleanError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise CleanError("pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CleanError("unreadable") from exc
    clean_format = IMAGE_CLEAN_FORMAT[kind]
    out = io.BytesIO()
    if clean_format == "JPEG":
        pixels.save(out, "JPEG", quality=90, optimize=True)
    elif clean_format == "PNG":
        pixels.save(out, "PNG", optimize=False)
    else:
        pixels.save(out, "WEBP", quality=90)
    return Cleaned(data=out.getvalue(), format=clean_format, removed=removed)


def _pixels_only(image: Any, kind: str) -> Any:
    """A new image built from the pixels alone (no info, EXIF, profile or palette tricks),
    upright. At most two full-size copies are alive at once: the decoder's memory limit is
    set for that."""
    from PIL import Image, ImageOps

    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if kind in ("JPEG", "HEIF"):
        mode = "L" if image.mode in ("1", "L") else "RGB"
    elif has_alpha:
        mode = "RGBA"
    else:
        mode = "L" if image.mode in ("1", "L") else "RGB"
    upright = ImageOps.exif_transpose(image) or image
    if upright is not image:
        image.close()  # the decoded original is no longer needed
    converted = upright if upright.mode == mode else upright.convert(mode)
    if converted is not upright:
        upright.close()
    fresh = Image.new(mode, converted.size)
    fresh.paste(converted, (0, 0))
    converted.close()
    return fresh


# --- PDFs -------------------------------------------------------------------------------------

# Action types (ISO 32000-2, 12.6.4) and what we call them when reporting what was removed.
# GoTo (a jump within the document) runs nothing, but it only lives in links and bookmarks,
# which are reported as such.
_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/URI": "uri",
    "/SubmitForm": "submit_form",
    "/ImportData": "import_data",
    "/GoToR": "remote_goto",
    "/GoToE": "remote_goto",
    "/GoToDp": "remote_goto",
    "/Rendition": "media",
    "/Sound": "media",
    "/Movie": "media",
    "/RichMediaExecute": "media",
    "/GoTo3DView": "media",
    "/Hide": "hide",
    "/Named": "other_actions",
    "/SetOCGState": "other_actions",
    "/Trans": "other_actions",
    "/Thread": "other_actions",
    "/ResetForm": "other_actions",
    "/GoTo": "",
}
_ANNOTATIONS = {
    "/Link": "links",
    "/Widget": "",  # counted as form fields
    "/Popup": "",  # part of a note
    "/RichMedia": "media",
    "/Screen": "media",
    "/Movie": "media",
    "/Sound": "media",
    "/3D": "media",
    "/FileAttachment": "",  # its file is counted as an embedded file
}
# What a page of the rebuilt document keeps (inherited values are copied onto each page).
_PAGE_KEYS = frozenset(
    {
        "/Type",
        "/Parent",
        "/MediaBox",
        "/CropBox",
        "/BleedBox",
        "/TrimBox",
        "/ArtBox",
        "/Rotate",
        "/UserUnit",
        "/Resources",
        "/Contents",
        "/Group",
    }
)
# Keys removed from every dictionary left in the rebuilt document, whatever it is.
_NEVER_KEYS = (
    "/AA",
    "/OpenAction",
    "/JS",
    "/URI",
    "/Next",
    "/EF",
    "/EmbeddedFiles",
    "/AF",
    "/XFA",
    "/Metadata",
    "/PieceInfo",
    "/Thumb",
    "/Annots",
    "/SpiderInfo",
    "/OPI",
)
# Keys of a stream's dictionary that fetch its data from elsewhere (ISO 32000-2, 7.3.8.2), and
# reference XObjects (8.10.4), which show another file's page.
_EXTERNAL_STREAM_KEYS = ("/F", "/FFilter", "/FDecodeParms", "/Ref")


def _dicts(pdf: Any) -> Iterator[Any]:
    """Every dictionary (and stream dictionary) in ``pdf``: each indirect object once, and the
    direct dictionaries nested in it; the trailer too. Iterative: nesting can be deep."""
    import pikepdf

    stack: list[Any] = [pdf.trailer, *pdf.objects]
    while stack:
        obj = stack.pop()
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            yield obj
            children = list(obj.values())
        elif isinstance(obj, pikepdf.Array):
            children = list(obj)
        else:
            continue
        # Indirect objects are visited on their own, from pdf.objects; numbers, names and
        # strings hold nothing.
        stack.extend(
            c
            for c in children
            if isinstance(c, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array)
            and not c.is_indirect
        )


def _name(obj: Any, key: str) -> str | None:
    import pikepdf

    value = obj.get(key)
    return str(value) if isinstance(value, pikepdf.Name) else None


def _is_action(obj: Any) -> bool:
    kind = _name(obj, "/S")
    if kind is None:
        return False
    if _name(obj, "/Type") == "/Action":
        return True
    # Structure elements (/P, /K) also carry an /S; an action never does.
    return kind in _ACTIONS and "/P" not in obj and "/K" not in obj


def _inventory(pdf: Any) -> Counter[str]:
    """What ``pdf`` holds that the rebuilt copy leaves out, by kind."""
    import pikepdf

    found: Counter[str] = Counter()
    for obj in _dicts(pdf):
        if _is_action(obj):
            label = _ACTIONS.get(_name(obj, "/S") or "", "other_actions")
            if label:
                found[label] += 1
        elif "/JS" in obj:
            found["javascript"] += 1
        additional = obj.get("/AA")
        if isinstance(additional, pikepdf.Dictionary):
            found["actions"] += len(additional.keys())
        if "/EF" in obj:
            found["files"] += 1
        if "/XFA" in obj:
            found["xfa"] += 1
        if "/Metadata" in obj or "/PieceInfo" in obj:
            found["xmp"] += 1
        if "/Thumb" in obj:
            found["thumbnails"] += 1
        if (
            isinstance(obj, pikepdf.Stream)
            and any(k in obj for k in _EXTERNAL_STREAM_KEYS)
            or "/Ref" in obj
            or "/OPI" in obj
        ):
            found["external"] += 1
        if _name(obj, "/Type") == "/Annot" or ("/Subtype" in obj and "/Rect" in obj):
            subtype = _name(obj, "/Subtype") or ""
            label = _ANNOTATIONS.get(subtype, "annotations")
            if label:
                found[label] += 1
            if subtype == "/Widget":
                found["form_fields"] += 1
    root = pdf.Root
    if "/OpenAction" in root:
        found["open_action"] += 1
    if "/URI" in root:
        found["uri"] += 1
    outlines = root.get("/Outlines")
    if isinstance(outlines, pikepdf.Dictionary) and "/First" in outlines:
        found["bookmarks"] += 1
    info = pdf.trailer.get("/Info")
    if isinstance(info, pikepdf.Dictionary) and len(info.keys()):
        found["docinfo"] += 1
    return found


def _sweep(pdf: Any) -> None:
    """Remove whatever could still run or reach out from every dictionary of the rebuilt
    document (none is expected after the rebuild: this holds if that ever changes)."""
    import pikepdf

    for obj in list(_dicts(pdf)):
        if _is_action(obj) and _name(obj, "/S") != "/GoTo":
            for key in list(obj.keys()):
                del obj[key]
            continue
        for key in _NEVER_KEYS:
            if key in obj:
                del obj[key]
        if isinstance(obj.get("/A"), pikepdf.Dictionary):
            del obj["/A"]
        if isinstance(obj, pikepdf.Stream):
            for key in _EXTERNAL_STREAM_KEYS:
                if key in obj:
                    del obj[key]


def clean_pdf(data: bytes) -> Cleaned:
    """A new PDF with what the pages show and nothing else; :class:`CleanError` if unreadable
    or protected by a password."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as source:
            removed = _inventory(source)
            form = source.Root.get("/AcroForm")
            if isinstance(form, pikepdf.Dictionary) and form.get("/Fields"):
                # Filled-in values show only through appearance streams: draw any missing.
                with contextlib.suppress(pikepdf.PdfError):
                    source.generate_appearance_streams()
            # What notes, stamps and form fields show on screen becomes part of the page.
            source.flatten_annotations("screen")
            rebuilt = pikepdf.new()
            for page in source.pages:
                rebuilt.pages.append(page)
            for page in rebuilt.pages:
                for key in list(page.obj.keys()):
                    if key not in _PAGE_KEYS:
                        del page.obj[key]
            if not len(rebuilt.pages):
                raise CleanError("unreadable")
            _sweep(rebuilt)
            out = io.BytesIO()
            rebuilt.save(
                out,
                fix_metadata_version=False,
                deterministic_id=True,
                # Streams are copied as they are: never inflated (a stream can be a zip bomb).
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
            )
    except pikepdf.PasswordError as exc:
        raise CleanError("encrypted") from exc
    except (pikepdf.PdfError, ValueError, OSError, RecursionError, KeyError, TypeError) as exc:
        raise CleanError("unreadable") from exc
    return Cleaned(data=out.getvalue(), format="PDF", removed=dict(removed))


def clean(data: bytes, kind: str, *, max_pixels: int, memory: int | None = None) -> Cleaned:
    """Clean one file whose first bytes said ``kind`` (a Pillow format name or ``"PDF"``)."""
    if kind == "PDF":
        return clean_pdf(data)
    if kind not in IMAGE_CLEAN_FORMAT:
        raise CleanError("type")
    return clean_image(data, kind, max_pixels=max_pixels, memory=memory)
