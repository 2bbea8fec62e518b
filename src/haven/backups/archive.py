"""The backup archive file: a plain header, encrypted sections, an index, a signature.

Layout (integers are unsigned, big-endian)::

    MAGIC                 16 bytes, b"HAVEN-BACKUP-v1\\n"
    u32 n, header         n bytes of JSON: format, created, organisation, signer, the key block
    sections              each: its stream header, then chunks (u32 length, ciphertext); the
                          last chunk carries the stream's final tag (haven.crypto)
    index                 JSON: each section's name, offset, length and BLAKE2b-256 digest
    signature             64 bytes: Ed25519 over DOMAIN, BLAKE2b-512(magic and header) and
                          BLAKE2b-512(index)
    u32 len(index), END   8 bytes, b"HVBK-END"

The header holds nothing readable but what a restore needs before anything is opened: which
organisation (a digest of its recovery public key), when, which key signed it, and the archive key
sealed to the recovery key and to the supervisors' key (with each supervisor's password-wrapped key
and share of the supervisors' key, so that a supervisor can open it when the database is gone).
Because the index carries a digest per section, one section (the shred ledger of a newer backup)
can be checked against the signature without reading the others.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from haven.crypto import (
    ARCHIVE_CHUNK_BYTES,
    ARCHIVE_SECTION_HEADER_BYTES,
    ArchiveKey,
    BackupSigner,
    CryptoError,
    SectionDecryptor,
    backup_signature_check,
)

MAGIC = b"HAVEN-BACKUP-v1\n"
END = b"HVBK-END"
FORMAT = 1
DOMAIN = b"haven-backup-signature-v1\0"
SIGNATURE_BYTES = 64
MAX_HEADER_BYTES = 4 << 20
MAX_INDEX_BYTES = 1 << 20
# secretstream adds 17 bytes to each chunk; anything longer was not written by Haven.
MAX_CHUNK_BYTES = ARCHIVE_CHUNK_BYTES + 17
_U32 = struct.Struct(">I")
SUFFIX = ".havenbackup"


class ArchiveError(Exception):
    """The file is not a whole, untouched Haven backup; the message says what is wrong."""


def _digest() -> Any:
    return hashlib.blake2b(digest_size=32)


def _signed_message(head: bytes, index: bytes) -> bytes:
    return (
        DOMAIN
        + hashlib.blake2b(head, digest_size=64).digest()
        + hashlib.blake2b(index, digest_size=64).digest()
    )


@dataclass(frozen=True)
class Section:
    name: str
    offset: int
    length: int
    digest: str


class SectionWriter:
    """Plaintext in, encrypted chunks out to the archive (see :meth:`ArchiveWriter.section`)."""

    def __init__(self, writer: ArchiveWriter, name: str, key: ArchiveKey):
        self._writer = writer
        self._name = name
        self._encryptor = key.encryptor(name)
        self._buffer = bytearray()
        self._start = writer.offset
        self._hash = _digest()
        self._emit(self._encryptor.header)
        self.plain_bytes = 0

    def _emit(self, data: bytes) -> None:
        self._hash.update(data)
        self._writer._write(data)

    def _chunk(self, plain: bytes, *, final: bool) -> None:
        blob = self._encryptor.push(plain, final=final)
        self._emit(_U32.pack(len(blob)) + blob)

    def write(self, data: bytes) -> None:
        self.plain_bytes += len(data)
        self._buffer += data
        while len(self._buffer) >= ARCHIVE_CHUNK_BYTES:
            self._chunk(bytes(self._buffer[:ARCHIVE_CHUNK_BYTES]), final=False)
            del self._buffer[:ARCHIVE_CHUNK_BYTES]

    def close(self) -> None:
        self._chunk(bytes(self._buffer), final=True)
        self._buffer.clear()
        self._writer._sections.append(
            Section(
                self._name, self._start, self._writer.offset - self._start, self._hash.hexdigest()
            )
        )


class ArchiveWriter:
    """Writes an archive to ``<path>.partial`` (mode 0600) and renames it into place only once
    it is complete, flushed and signed: a backup that fails half-way leaves no archive."""

    def __init__(self, path: Path, header: dict[str, Any], key: ArchiveKey):
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self._key = key
        self._sections: list[Section] = []
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._file: IO[bytes] = os.fdopen(fd, "wb", buffering=1 << 20)
        self.offset = 0
        raw = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        self._head = MAGIC + _U32.pack(len(raw)) + raw
        self._write(self._head)

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self.offset += len(data)

    def section(self, name: str) -> SectionWriter:
        """A section to write plaintext into; call ``close()`` on it when done."""
        return SectionWriter(self, name, self._key)

    def section_json(self, name: str, value: Any) -> None:
        writer = self.section(name)
        writer.write(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
        writer.close()

    def section_encrypted(self, name: str, header: bytes, chunks: Iterable[bytes]) -> None:
        """A section already encrypted under this archive's key (the erasure store's copy)."""
        start = self.offset
        digest = _digest()
        for piece in (header, *(_U32.pack(len(c)) + c for c in chunks)):
            digest.update(piece)
            self._write(piece)
        self._sections.append(Section(name, start, self.offset - start, digest.hexdigest()))

    def finish(self, signer: BackupSigner) -> int:
        """Write the index and the signature, flush, and move the archive into place. Returns
        its size in bytes."""
        index = json.dumps(
            {"sections": [s.__dict__ for s in self._sections]}, separators=(",", ":")
        ).encode()
        self._write(index)
        self._write(signer.sign(_signed_message(self._head, index)))
        self._write(_U32.pack(len(index)) + END)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.offset

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.partial.unlink(missing_ok=True)


class ArchiveReader:
    """An archive opened for reading. Nothing is decrypted, or trusted, before
    :meth:`check_signature` has passed for what is read."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._file: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError as exc:
            raise ArchiveError(f"There is no file {path}.") from exc
        except IsADirectoryError as exc:
            raise ArchiveError(f"{path} is a directory, not a backup archive.") from exc
        except OSError as exc:
            raise ArchiveError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            self._parse()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _read_at(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(size)
        if len(data) != size:
            raise ArchiveError(f"{self.path} is cut short: it is not a whole backup.")
        return data

    def _parse(self) -> None:
        size = os.fstat(self._file.fileno()).st_size
        self.size = size
        if size < len(MAGIC) + 4 or self._read_at(0, len(MAGIC)) != MAGIC:
            raise ArchiveError(f"{self.path} is not a Haven backup archive.")
        (header_len,) = _U32.unpack(self._read_at(len(MAGIC), 4))
        if header_len > MAX_HEADER_BYTES:
            raise ArchiveError(f"{self.path} is not a Haven backup archive (header too large).")
        self._head = self._read_at(0, len(MAGIC) + 4 + header_len)
        tail_len = 4 + len(END)
        if size < len(self._head) + SIGNATURE_BYTES + tail_len:
            raise ArchiveError(f"{self.path} is cut short: it is not a whole backup.")
        tail = self._read_at(size - tail_len, tail_len)
        if tail[4:] != END:
            raise ArchiveError(f"{self.path} is cut short or damaged: its end is missing.")
        (index_len,) = _U32.unpack(tail[:4])
        index_at = size - tail_len - SIGNATURE_BYTES - index_len
        if index_len > MAX_INDEX_BYTES or index_at < len(self._head):
            raise ArchiveError(f"{self.path} is damaged: its index is not where it should be.")
        self._index_raw = self._read_at(index_at, index_len)
        self._signature = self._read_at(size - tail_len - SIGNATURE_BYTES, SIGNATURE_BYTES)
        try:
            header = json.loads(self._head[len(MAGIC) + 4 :])
            index = json.loads(self._index_raw)
            sections = [
                Section(str(s["name"]), int(s["offset"]), int(s["length"]), str(s["digest"]))
                for s in index["sections"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(
                f"{self.path} is damaged: its header or index does not parse."
            ) from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ArchiveError(
                f"{self.path} is a backup in a format this version of Haven does not read."
            )
        expected = len(self._head)
        for section in sections:
            if section.offset != expected or section.length < ARCHIVE_SECTION_HEADER_BYTES:
                raise ArchiveError(f"{self.path} is damaged: its sections do not line up.")
            expected += section.length
        if expected != index_at:
            raise ArchiveError(f"{self.path} is damaged: its sections do not line up.")
        self.header: dict[str, Any] = header
        self.sections = {s.name: s for s in sections}

    def check_signature(
        self,
        public_key: bytes,
        *,
        sections: Iterable[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Check the signature over the header and the index, and that every section named (all
        by default) is exactly what the index lists. Raises :class:`ArchiveError`."""
        names = list(self.sections) if sections is None else list(sections)
        try:
            backup_signature_check(
                public_key, _signed_message(self._head, self._index_raw), self._signature
            )
        except CryptoError as exc:
            raise ArchiveError(
                f"{self.path} does not carry a valid signature of this organisation's Haven: it "
                "was altered, or made elsewhere."
            ) from exc
        for name in names:
            section = self.sections.get(name)
            if section is None:
                raise ArchiveError(f"{self.path} has no {name} section.")
            digest = _digest()
            self._file.seek(section.offset)
            left = section.length
            while left:
                block = self._file.read(min(left, 8 << 20))
                if not block:
                    raise ArchiveError(f"{self.path} is cut short: it is not a whole backup.")
                digest.update(block)
                left -= len(block)
                if progress is not None:
                    progress(len(block))
            if digest.hexdigest() != section.digest:
                raise ArchiveError(
                    f"{self.path} was altered: its {name} section is not what was signed."
                )

    def encrypted(self, name: str) -> tuple[bytes, Iterator[bytes]]:
        """A section's stream header and its encrypted chunks, in order (checked lengths only)."""
        section = self.sections.get(name)
        if section is None:
            raise ArchiveError(f"{self.path} has no {name} section.")
        header = self._read_at(section.offset, ARCHIVE_SECTION_HEADER_BYTES)

        def chunks() -> Iterator[bytes]:
            at = section.offset + ARCHIVE_SECTION_HEADER_BYTES
            end = section.offset + section.length
            while at < end:
                (length,) = _U32.unpack(self._read_at(at, 4))
                if length > MAX_CHUNK_BYTES or at + 4 + length > end:
                    raise ArchiveError(f"{self.path} is damaged in its {name} section.")
                yield self._read_at(at + 4, length)
                at += 4 + length

        return header, chunks()

    def plain(self, key: ArchiveKey, name: str) -> Iterator[bytes]:
        """A section decrypted chunk by chunk; a section cut short raises ArchiveError."""
        header, chunks = self.encrypted(name)
        decryptor: SectionDecryptor = key.decryptor(name, header)
        try:
            for chunk in chunks:
                yield decryptor.pull(chunk)
        except CryptoError as exc:
            raise ArchiveError(f"The {name} section of {self.path} does not open: {exc}.") from exc
        if not decryptor.finished:
            raise ArchiveError(f"The {name} section of {self.path} is cut short.")

    def json(self, key: ArchiveKey, name: str) -> Any:
        raw = b"".join(self.plain(key, name))
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ArchiveError(f"The {name} section of {self.path} does not parse.") from exc


def archive_name(created: dt.datetime, organisation: str) -> str:
    """``haven-20270301T021500Z-1a2b3c4d-5e6f.havenbackup``: when (UTC), a short organisation id,
    and four random hex digits (two backups in one second)."""
    stamp = f"{created.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    return f"haven-{stamp}-{organisation[:8]}-{secrets.token_hex(2)}{SUFFIX}"
