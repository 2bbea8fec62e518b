"""Files for the attachment tests, made in memory: honest ones with metadata, and hostile ones."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pikepdf
from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
MODEL = 0x0110


def jpeg_with_gps(*, size: tuple[int, int] = (80, 60), orientation: int = 6) -> bytes:
    """A JPEG whose EXIF says where (GPS) and with what (camera make and model) it was taken,
    rotated by EXIF orientation, with a comment."""
    image = Image.new("RGB", size, (180, 40, 40))
    for x in range(size[0] // 2):  # a left half of another colour, to see the rotation
        for y in range(size[1]):
            image.putpixel((x, y), (20, 40, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "MarkerCam"
    exif[MODEL] = "Spy Phone 9"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (39.0, 1.0, 10.5)
    gps[3] = "E"
    gps[4] = (125.0, 45.0, 2.25)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at the border")
    return out.getvalue()


def png(*, size: tuple[int, int] = (40, 30), text: str = "") -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Author", text)
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 128, 0, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "WEBP")
    return out.getvalue()


def noisy_png(nbytes: int) -> bytes:
    """A valid PNG of about ``nbytes`` (random pixels do not compress)."""
    import os

    side = int((nbytes / 3) ** 0.5) + 1
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=0)
    return out.getvalue()


def pdf_with_metadata(*, text: str = "Hello") -> bytes:
    """A one-page PDF with Author/Producer document info, XMP and JavaScript on opening."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    pdf.pages[0].Contents = pdf.make_stream(content)
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = ["Kim Author-Marker"]
    pdf.docinfo["/Author"] = "Kim Author-Marker"
    pdf.docinfo["/Producer"] = "ProducerMarker 1.0"
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('hi')")
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)

# A Windows executable's header (MZ ... PE): what a "photo.jpg" from a phishing kit looks like.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


def zip_bomb(*, inflated: int = 50_000_000) -> bytes:
    """A small zip that inflates to ``inflated`` bytes of zeros."""
    out = io.BytesIO()
    archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    with archive, archive.open("photo.jpg", "w") as member:
        chunk = b"\x00" * 1_000_000
        for _ in range(inflated // len(chunk)):
            member.write(chunk)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(*, side: int = 30_000) -> bytes:
    """A PNG of ``side`` x ``side`` one-bit pixels, all zero: about 110 KB that decodes to
    ``side``² pixels (900 million by default)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def polyglot_jpeg_zip() -> bytes:
    """A real JPEG with a zip archive appended (what some tools hide payloads in)."""
    return jpeg_with_gps() + zip_bomb(inflated=1_000_000)


# --- Decompression bombs (issue 17, finding 2) -------------------------------------------------

# A 38-byte lossless WebP of one colour: its pixels cost no bits, so the width and height in
# its header can be set to anything and it still decodes (made once with Pillow, 7000 x 7000).
_SOLID_WEBP = bytes.fromhex(
    "524946461e000000574542505650384c110000002f57dbd5060750852257a1ff8188e87f0000"
)


def webp_bomb(width: int = 7000, height: int = 7000) -> bytes:
    """A valid lossless WebP of ``width`` x ``height`` in 38 bytes (7000 x 7000: 49 megapixels,
    about 2 s of processor time and 850 MB to decode with Pillow)."""
    (bits,) = struct.unpack("<I", _SOLID_WEBP[21:25])
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    return _SOLID_WEBP[:21] + struct.pack("<I", bits) + _SOLID_WEBP[25:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header declares ``width`` x ``height``."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (9, 9, 9)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_many_scans(scans: int = 300) -> bytes:
    """A JPEG with ``scans`` start-of-scan markers (a progressive-decoding cost bomb)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(out, "JPEG", progressive=True)
    data = out.getvalue()
    at = data.index(b"\xff\xda")
    body, tail = data[at:-2], data[-2:]
    return data[:at] + body * max(1, scans // max(1, body.count(b"\xff\xda"))) + tail


def pdf_object_bomb(objects: int = 150_000) -> bytes:
    """A PDF of one blank page and ``objects`` small objects packed in object streams: a few
    MB that cost a parser seconds and hundreds of MB."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    junk = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(V=i)) for i in range(objects)])
    pdf.Root.Junk = pdf.make_indirect(junk)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()
