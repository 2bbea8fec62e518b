"""What a file is (by its content, never its name or the browser's word), a safe name for it, and
a copy without its metadata. Pure functions on bytes in memory: nothing here touches the disk.

* **Type**: the first bytes must be a JPEG, PNG, WebP (or HEIC, when a HEIF plugin for Pillow is
  installed) or PDF signature, and the file must then open fully as that type (Pillow decodes
  every pixel; pikepdf parses the PDF). Anything else — SVG, HTML, ZIP, executables, a renamed
  file — is refused with :class:`FileRefusedError`.
* **Images** are re-encoded from their pixels alone, after applying the EXIF orientation: EXIF
  (GPS, camera, times), XMP, IPTC, ICC profiles and comments are left behind, as is anything
  appended after the image data. Images over ``HAVEN_ATTACHMENT_MAX_PIXELS`` are refused before
  decoding (decompression bombs).
* **PDFs** lose their document information (author, producer, dates...), every XMP metadata
  stream, and what runs on opening: JavaScript, open actions, additional actions, embedded files
  and XFA forms.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC (iPhone photos) only when the optional plugin is installed.
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - depends on the environment
    HEIF = False
else:  # pragma: no cover
    register_heif_opener()
    HEIF = True

IMAGE = "image"
PDF = "pdf"

# Pillow format -> (MIME type, extension, format of the cleaned copy)
_IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", ".jpg", "JPEG"),
    "PNG": ("image/png", ".png", "PNG"),
    "WEBP": ("image/webp", ".webp", "WEBP"),
    # The cleaned copy of a HEIC photo is a JPEG: every browser shows it.
    "HEIF": ("image/heic", ".heic", "JPEG"),
}
_CLEAN_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
PDF_TYPE = ("application/pdf", ".pdf")

MAX_NAME_CHARS = 100
_UNSAFE_NAME_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")


class FileRefusedError(Exception):
    """A file we do not take: ``code`` says why (for tests and the audit), ``message`` is kind."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Inspected:
    """A file that passed: its kind, type, a safe name, and the cleaned copy."""

    kind: str  # IMAGE or PDF
    mime: str
    ext: str
    name: str  # sanitised, as the person named it
    size: int
    sha256: str
    cleaned: bytes
    cleaned_mime: str
    cleaned_ext: str
    original: bytes = field(repr=False)
    removed: list[str] = field(default_factory=list)  # what the cleaned copy left out


def _refuse_type(name: str) -> FileRefusedError:
    return FileRefusedError(
        "type",
        str(
            _(
                "We cannot take “%(name)s”: only photos (JPEG, PNG, WebP) and PDF documents can "
                "be sent."
            )
            % {"name": name}
        ),
    )


def _unreadable(name: str) -> FileRefusedError:
    return FileRefusedError(
        "unreadable",
        str(
            _("We could not open “%(name)s”: it may be damaged. Please try another copy of it.")
            % {"name": name}
        ),
    )


def _too_large_image(name: str) -> FileRefusedError:
    return FileRefusedError(
        "pixels",
        str(
            _("The picture “%(name)s” is too large for us. Please send a smaller copy of it.")
            % {"name": name}
        ),
    )


def sniff(data: bytes) -> str | None:
    """The type a file's first bytes claim: a Pillow format name, ``"PDF"``, or None."""
    head = bytes(data[:32])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"heim", b"heis", b"mif1"):
        return "HEIF"
    if head.startswith(b"%PDF-"):
        return "PDF"
    return None


def safe_name(raw: object) -> str:
    """A file name fit to show and to offer for download: the last path part only, no control,
    format (bidirectional overrides) or reserved characters, no leading dots, at most
    ``MAX_NAME_CHARS`` characters; "attachment" when nothing is left."""
    # The end of a huge name: its last path part and extension are there.
    name = unicodedata.normalize("NFC", str(raw or "")[-2_000:])
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE_NAME_CHARS.sub("_", name)
    name = _SPACES.sub(" ", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        name = name[: MAX_NAME_CHARS - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name or "attachment"


def download_name(name: str, ext: str) -> str:
    """``name`` with the extension of what the file really is (never the one it came with)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'attachment'}{ext}"


def inspect(data: bytes, name: object) -> Inspected:
    """Check a file by its content and make its cleaned copy; :class:`FileRefusedError` if not."""
    shown = safe_name(name)
    kind = sniff(data)
    if kind is None or (kind == "HEIF" and not HEIF):
        raise _refuse_type(shown)
    digest = hashlib.sha256(data).hexdigest()
    if kind == "PDF":
        cleaned, removed = _clean_pdf(data, shown)
        mime, ext = PDF_TYPE
        return Inspected(
            kind=PDF,
            mime=mime,
            ext=ext,
            name=shown,
            size=len(data),
            sha256=digest,
            cleaned=cleaned,
            cleaned_mime=mime,
            cleaned_ext=ext,
            original=bytes(data),
            removed=removed,
        )
    cleaned, removed, clean_format = _clean_image(data, kind, shown)
    mime, ext, _format = _IMAGE_FORMATS[kind]
    cleaned_mime, cleaned_ext = _CLEAN_TYPES[clean_format]
    return Inspected(
        kind=IMAGE,
        mime=mime,
        ext=ext,
        name=shown,
        size=len(data),
        sha256=digest,
        cleaned=cleaned,
        cleaned_mime=cleaned_mime,
        cleaned_ext=cleaned_ext,
        original=bytes(data),
        removed=removed,
    )


# --- Images -----------------------------------------------------------------------------------

_EXIF_GPS_IFD = 0x8825


def _image_metadata(image: Image.Image) -> list[str]:
    found = []
    exif = image.getexif()
    if len(exif) or image.info.get("exif"):
        found.append("exif")
        if _EXIF_GPS_IFD in exif:
            found.append("gps")
    if image.info.get("xmp") or "XML:com.adobe.xmp" in image.info:
        found.append("xmp")
    if image.info.get("icc_profile"):
        found.append("icc_profile")
    if image.info.get("comment") or any(k in image.info for k in ("Comment", "Description")):
        found.append("comment")
    if any(isinstance(k, str) and k.lower() in ("author", "software", "title") for k in image.info):
        found.append("text")
    return found


def _clean_image(data: bytes, kind: str, name: str) -> tuple[bytes, list[str], str]:
    max_pixels = int(settings.HAVEN_ATTACHMENT_MAX_PIXELS)
    # Pillow refuses at twice its limit and warns above it; both are refusals here.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                if image.format != kind:
                    raise _refuse_type(name)
                width, height = image.size
                if width < 1 or height < 1 or width * height > max_pixels:
                    raise _too_large_image(name)
                removed = _image_metadata(image)
                image.seek(0)
                frames = getattr(image, "n_frames", 1)
                if frames > 1:
                    removed.append("frames")
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                pixels = _pixels_only(upright, kind)
    except FileRefusedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large_image(name) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _unreadable(name) from exc
    except MemoryError as exc:  # pragma: no cover - defensive
        raise _too_large_image(name) from exc
    clean_format = _IMAGE_FORMATS[kind][2]
    out = io.BytesIO()
    if clean_format == "JPEG":
        pixels.save(out, "JPEG", quality=90, optimize=True)
    elif clean_format == "PNG":
        pixels.save(out, "PNG", optimize=False)
    else:
        pixels.save(out, "WEBP", quality=90)
    return out.getvalue(), removed, clean_format


def _pixels_only(image: Image.Image, kind: str) -> Image.Image:
    """A new image built from the pixels alone: no info, no EXIF, no profile, no palette tricks."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if kind in ("JPEG", "HEIF"):
        mode = "L" if image.mode in ("1", "L") else "RGB"
    elif has_alpha:
        mode = "RGBA"
    else:
        mode = "L" if image.mode in ("1", "L") else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


# --- PDFs -------------------------------------------------------------------------------------


def _clean_pdf(data: bytes, name: str) -> tuple[bytes, list[str]]:
    import pikepdf

    removed: list[str] = []
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if pdf.trailer.get("/Info") is not None:
                if len(pdf.docinfo.keys()):
                    removed.append("docinfo")
                del pdf.trailer["/Info"]
            root = pdf.Root
            if "/Metadata" in root:
                removed.append("xmp")
                del root["/Metadata"]
            for key, label in (("/OpenAction", "open_action"), ("/AA", "actions")):
                if key in root:
                    removed.append(label)
                    del root[key]
            names = root.get("/Names")
            if names is not None:
                for key, label in (("/JavaScript", "javascript"), ("/EmbeddedFiles", "files")):
                    if key in names:
                        removed.append(label)
                        del names[key]
            acroform = root.get("/AcroForm")
            if acroform is not None and "/XFA" in acroform:
                removed.append("xfa")
                del acroform["/XFA"]
            for page in pdf.pages:
                if "/AA" in page.obj:
                    del page.obj["/AA"]
                    if "actions" not in removed:
                        removed.append("actions")
            # XMP streams and piece info anywhere else (pages, images, fonts).
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                    for key in ("/Metadata", "/PieceInfo"):
                        if key in obj:
                            del obj[key]
                            if "xmp" not in removed:
                                removed.append("xmp")
            out = io.BytesIO()
            pdf.save(out, fix_metadata_version=False, deterministic_id=True)
    except pikepdf.PasswordError as exc:
        raise FileRefusedError(
            "encrypted",
            str(
                _("“%(name)s” is protected by a password. Please send a copy without one.")
                % {"name": name}
            ),
        ) from exc
    except (pikepdf.PdfError, ValueError, OSError, RecursionError) as exc:
        raise _unreadable(name) from exc
    return out.getvalue(), removed
