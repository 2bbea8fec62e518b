"""An image's declared size read from its first bytes, without a decoder.

A decompression bomb is a small file that declares a huge image: a 2 KB lossless WebP can
declare 49 megapixels, which costs seconds and a gigabyte to decode. Asking Pillow for the
size is not safe for this (its WebP plugin opens a libwebp animation decoder, which allocates
two canvases of the declared size before a pixel is read), so the few bytes that say the size
are parsed here, in the web worker, before the file goes anywhere near a decoder.

Each function returns ``(width, height)`` or raises :class:`HeaderError` (the file is not what
its signature says). HEIF is not parsed here: its size is checked by the decoder process
before decoding, under that process's limits.
"""

from __future__ import annotations

import struct


class HeaderError(ValueError):
    """The header is missing, cut short or malformed."""


def png_size(data: bytes) -> tuple[int, int]:
    # The signature, then IHDR must be the first chunk: length 13, "IHDR", width, height.
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise HeaderError("no IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# Start-of-frame markers: SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length


def jpeg_size(data: bytes) -> tuple[int, int]:
    if not data.startswith(b"\xff\xd8"):
        raise HeaderError("no SOI")
    at = 2
    end = len(data)
    while at < end:
        if data[at] != 0xFF:
            raise HeaderError("not a marker")
        while at < end and data[at] == 0xFF:  # fill bytes
            at += 1
        if at >= end:
            break
        marker = data[at]
        at += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # EOI or SOS before any frame header
            raise HeaderError("no frame header")
        if at + 2 > end:
            break
        (length,) = struct.unpack(">H", data[at : at + 2])
        if length < 2:
            raise HeaderError("bad segment length")
        if marker in _SOF:
            if at + 7 > end:
                break
            height, width = struct.unpack(">HH", data[at + 3 : at + 7])
            if height == 0:  # defined later by a DNL marker: not something a phone sends
                raise HeaderError("height in DNL")
            return width, height
        at += length
    raise HeaderError("cut short")


def jpeg_scans(data: bytes) -> int:
    """How many scans (SOS markers) a JPEG has. A progressive JPEG with thousands of tiny
    scans costs a decoder far more than its size suggests (libjpeg-turbo's ``-maxscans``).
    Inside entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so
    every FF DA is a real start of scan."""
    return data.count(b"\xff\xda")


def webp_size(data: bytes) -> tuple[int, int]:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise HeaderError("not RIFF WEBP")
    chunk = data[12:16]
    payload = data[20:]
    if chunk == b"VP8 ":  # lossy: frame tag (3), start code 9d 01 2a, 14-bit width and height
        if payload[3:6] != b"\x9d\x01\x2a":
            raise HeaderError("no VP8 start code")
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14 bits width-1 and 14 bits height-1
        if payload[0] != 0x2F:
            raise HeaderError("no VP8L signature")
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: flags (4), 24-bit canvas width-1 and height-1
        width = int.from_bytes(payload[4:7], "little") + 1
        height = int.from_bytes(payload[7:10], "little") + 1
        return width, height
    raise HeaderError("unknown first chunk")


def declared_size(data: bytes, kind: str) -> tuple[int, int] | None:
    """The size an image's header declares (None for HEIF, checked by the decoder)."""
    if kind == "PNG":
        return png_size(data)
    if kind == "JPEG":
        return jpeg_size(data)
    if kind == "WEBP":
        return webp_size(data)
    return None
