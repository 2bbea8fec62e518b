"""What a file is (by its content, never its name or the browser's word), a safe name for it, and
a copy without its metadata. Nothing here touches the disk, and nothing here decodes a file.

* **Type**: the first bytes must be a JPEG, PNG, WebP (or HEIC, when a HEIF plugin for Pillow is
  installed) or PDF signature, and the file must then open fully as that type in the decoder
  (Pillow decodes every pixel; pikepdf parses the PDF). Anything else — SVG, HTML, ZIP,
  executables, a renamed file — is refused with :class:`FileRefusedError`.
* **Decompression bombs** are refused from the images' headers (:mod:`haven.attachments.headers`)
  before anything decodes them: over ``HAVEN_ATTACHMENT_MAX_PIXELS`` an image, over
  ``HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS`` a request's images together, and, above 4 megapixels,
  over ``HAVEN_ATTACHMENT_MAX_PIXELS_PER_BYTE`` (a 2 KB file declaring 49 megapixels).
* **Cleaning** runs in a decoder process bounded in memory and time
  (:mod:`haven.attachments.sandbox`, :mod:`haven.attachments.clean`): images are re-drawn from
  their pixels alone; PDFs are rebuilt from what their pages show.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from haven.attachments import sandbox
from haven.attachments.headers import HeaderError, declared_size, jpeg_scans

# HEIC (iPhone photos) only when the optional plugin is installed (the decoder loads it).
HEIF = importlib.util.find_spec("pillow_heif") is not None

IMAGE = "image"
PDF = "pdf"

# Format (as the decoder names it) -> (MIME type, extension). The cleaned copy of a HEIC photo
# is a JPEG: every browser shows it.
_TYPES = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
    "HEIF": ("image/heic", ".heic"),
    "PDF": ("application/pdf", ".pdf"),
}
# Images this small are never refused for their compression: decoding one costs little.
RATIO_FREE_PIXELS = 4_000_000
# More scans than this in a JPEG is how a small file is made to cost a decoder minutes
# (libjpeg-turbo suggests such a limit); cameras and encoders write at most a few dozen.
MAX_JPEG_SCANS = 100

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
    removed_counts: dict[str, int] = field(default_factory=dict)  # and how many of each


class FilesRefusedError(Exception):
    """Files we do not take, all at once: one kind message per refused file, or one for the
    request (too many pixels together, every decoder busy). Nothing may be stored."""

    def __init__(self, messages: list[str], codes: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages
        self.codes = codes


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


def _refusal(code: str, name: str) -> FileRefusedError:
    """The kind message for a refusal found by a header check or the decoder."""
    if code == "type":
        return _refuse_type(name)
    if code == "pixels":
        return _too_large_image(name)
    if code == "encrypted":
        message = _("“%(name)s” is protected by a password. Please send a copy without one.")
    elif code == "ratio":
        message = _(
            "The picture “%(name)s” is very large for so small a file, so we cannot open it "
            "safely. Please send it as an ordinary photo (JPEG) or a screenshot."
        )
    elif code == sandbox.TIME:
        message = _(
            "Checking “%(name)s” took too long, so we stopped. Please send a smaller or simpler "
            "copy of it."
        )
    elif code == sandbox.MEMORY:
        message = _(
            "Checking “%(name)s” needed more memory than we allow, so we stopped. Please send a "
            "smaller copy of it."
        )
    elif code == "unreadable":
        return _unreadable(name)
    else:  # the decoder crashed, or its cleaned copy came out far too large
        message = _(
            "We could not check “%(name)s”. Please send another copy of it, or a photo or "
            "screenshot of it."
        )
    return FileRefusedError(code, str(message % {"name": name}))


def busy_message() -> str:
    return str(
        _(
            "We are checking other people's files right now. Your files were not kept: please "
            "wait a minute and send them again."
        )
    )


def too_many_pixels_message() -> str:
    return str(
        _(
            "These pictures are too large together for one request (at most %(mp)d megapixels "
            "in all). Please send fewer or smaller ones; you can send more later with your "
            "receipt number."
        )
        % {"mp": int(settings.HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS) // 1_000_000}
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


def _header_check(data: bytes, kind: str, name: str) -> int:
    """The pixels an image declares, after the checks that need no decoder (0 for a PDF or a
    HEIC photo, whose size the decoder checks)."""
    try:
        size = declared_size(data, kind)
    except HeaderError as exc:
        raise _unreadable(name) from exc
    if size is None:
        return 0
    width, height = size
    pixels = width * height
    if width < 1 or height < 1:
        raise _unreadable(name)
    if pixels > int(settings.HAVEN_ATTACHMENT_MAX_PIXELS):
        raise _too_large_image(name)
    if pixels > RATIO_FREE_PIXELS and pixels > len(data) * int(
        settings.HAVEN_ATTACHMENT_MAX_PIXELS_PER_BYTE
    ):
        raise _refusal("ratio", name)
    if kind == "JPEG" and jpeg_scans(data) > MAX_JPEG_SCANS:
        raise _refusal("scans", name)
    return pixels


def inspect_files(files: Sequence[tuple[object, bytes]]) -> list[Inspected]:
    """Check files (``(name, bytes)``) by their content and make their cleaned copies.

    Every check that needs no decoder runs first, for every file; only if all pass are the
    files cleaned, together, in one decoder process. Raises :class:`FilesRefusedError` naming
    each refused file (or the request's problem); then nothing may be stored.
    """
    refused: list[FileRefusedError] = []
    jobs: list[tuple[str, str, bytes]] = []  # (shown name, kind, data)
    pixels = 0
    for raw_name, data in files:
        shown = safe_name(raw_name)
        kind = sniff(data)
        if kind is None or (kind == "HEIF" and not HEIF):
            refused.append(_refuse_type(shown))
            continue
        try:
            pixels += _header_check(data, kind, shown)
        except FileRefusedError as exc:
            refused.append(exc)
            continue
        jobs.append((shown, kind, data))
    messages = [r.message for r in refused]
    codes = [r.code for r in refused]
    if pixels > int(settings.HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS):
        messages.append(too_many_pixels_message())
        codes.append("request_pixels")
    if messages:
        raise FilesRefusedError(messages, codes)
    if not jobs:
        return []
    try:
        with sandbox.decoder_place():
            results = sandbox.decode([sandbox.Job(kind=kind, data=data) for _, kind, data in jobs])
    except sandbox.DecoderBusyError as exc:
        raise FilesRefusedError([busy_message()], ["busy"]) from exc
    inspected: list[Inspected] = []
    for (shown, kind, data), result in zip(jobs, results, strict=True):
        if result.code is not None:
            refusal = _refusal(result.code, shown)
            messages.append(refusal.message)
            codes.append(refusal.code)
            continue
        mime, ext = _TYPES[kind]
        cleaned_mime, cleaned_ext = _TYPES.get(result.format, (mime, ext))
        inspected.append(
            Inspected(
                kind=PDF if kind == "PDF" else IMAGE,
                mime=mime,
                ext=ext,
                name=shown,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                cleaned=result.data,
                cleaned_mime=cleaned_mime,
                cleaned_ext=cleaned_ext,
                original=bytes(data),
                removed=list(result.removed),
                removed_counts=dict(result.removed),
            )
        )
    if messages:
        raise FilesRefusedError(messages, codes)
    return inspected


def inspect(data: bytes, name: object) -> Inspected:
    """One file checked and cleaned (see :func:`inspect_files`); :class:`FileRefusedError`."""
    try:
        [found] = inspect_files([(name, data)])
    except FilesRefusedError as exc:
        raise FileRefusedError(exc.codes[0], exc.messages[0]) from exc
    return found
