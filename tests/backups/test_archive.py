"""The archive file itself: what a reader accepts, and the hostile files it refuses."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from haven.backups.archive import MAGIC, ArchiveError, ArchiveReader, ArchiveWriter
from haven.crypto import ArchiveKey, BackupSigner


@pytest.fixture
def signer() -> BackupSigner:
    return BackupSigner(bytes(range(32)))


def _write(path: Path, key: ArchiveKey, signer: BackupSigner) -> Path:
    writer = ArchiveWriter(path, {"format": 1, "created": "2027-01-01T00:00:00+00:00"}, key)
    section = writer.section("database")
    for _ in range(3):
        section.write(b"x" * 700_000)
    section.close()
    writer.section_json("manifest", {"format": 1})
    writer.finish(signer)
    return path


def test_an_archive_reads_back_as_written(tmp_path, signer) -> None:
    key = ArchiveKey.generate()
    path = _write(tmp_path / "a.havenbackup", key, signer)

    with ArchiveReader(path) as reader:
        reader.check_signature(signer.public_key)
        assert b"".join(reader.plain(key, "database")) == b"x" * 2_100_000
        assert reader.json(key, "manifest") == {"format": 1}
    assert not (tmp_path / "a.havenbackup.partial").exists()


def test_an_archive_signed_by_another_key_is_refused(tmp_path, signer) -> None:
    path = _write(tmp_path / "a.havenbackup", ArchiveKey.generate(), signer)
    with ArchiveReader(path) as reader, pytest.raises(ArchiveError, match="valid signature"):
        reader.check_signature(BackupSigner(bytes(32)).public_key)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not an archive at all",
        MAGIC + struct.pack(">I", 0xFFFFFFFF) + b"{}",  # a header "4 GB" long
        MAGIC + struct.pack(">I", 2) + b"{}" + b"\0" * 100,  # no end marker
        MAGIC + struct.pack(">I", 2) + b"{}" + b"\0" * 64 + struct.pack(">I", 10**6) + b"HVBK-END",
    ],
)
def test_hostile_files_are_refused_before_anything_is_read_from_them(tmp_path, content) -> None:
    path = tmp_path / "hostile.havenbackup"
    path.write_bytes(content)
    with pytest.raises(ArchiveError):
        ArchiveReader(path)


def test_bytes_added_to_an_archive_are_refused(tmp_path, signer) -> None:
    path = _write(tmp_path / "a.havenbackup", ArchiveKey.generate(), signer)
    with path.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(ArchiveError, match="cut short or damaged"):
        ArchiveReader(path)


def test_a_chunk_claiming_to_be_huge_is_refused_unread(tmp_path, signer) -> None:
    key = ArchiveKey.generate()
    path = _write(tmp_path / "a.havenbackup", key, signer)
    with ArchiveReader(path) as reader:
        offset = reader.sections["database"].offset + 24
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(struct.pack(">I", 0x7FFFFFFF))
    with ArchiveReader(path) as reader, pytest.raises(ArchiveError, match="damaged"):
        b"".join(reader.plain(key, "database"))


def test_a_directory_or_a_missing_file_is_named_clearly(tmp_path) -> None:
    with pytest.raises(ArchiveError, match="is a directory"):
        ArchiveReader(tmp_path)
    with pytest.raises(ArchiveError, match="There is no file"):
        ArchiveReader(tmp_path / "missing.havenbackup")
