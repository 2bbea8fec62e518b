"""`haven dedupe` and `haven link encode|match`, bad input included."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.crypto import LinkageSecret
from haven.dedupe.models import DuplicateCandidate
from haven.matching.linkage import encode_linkage_file
from haven.matching.records import match_record
from tests.dedupe.helpers import HANGUL, MR, record
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PASSPHRASE = "correct horse battery staple 42"
LINKAGE = "ministry-2026"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n", encoding="utf-8")
    return path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return path


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- haven dedupe ------------------------------------------------------------------------------


def test_dedupe_fills_the_review_queue(alice, ctx, password_file):
    first = record(ctx=ctx, actor=alice, **HANGUL)
    second = record(ctx=ctx, actor=alice, **MR)
    out, err = _run("dedupe", "--supervisor", "alice", "--password-file", str(password_file))
    assert "1 pairs in the review queue" in out
    assert "encoding pending people" in err  # the progress bar
    (candidate,) = DuplicateCandidate.objects.all()
    assert {candidate.case_a_id, candidate.case_b_id} == {first.pk, second.pk}


def test_dedupe_refuses_a_wrong_password_and_other_roles(alice, bob, tmp_path, password_file):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n", encoding="utf-8")
    with pytest.raises(CommandError, match="does not unlock"):
        _run("dedupe", "--supervisor", "alice", "--password-file", str(wrong))
    with pytest.raises(CommandError, match="not an active supervisor"):
        _run("dedupe", "--supervisor", "bob", "--password-file", str(password_file))
    with pytest.raises(CommandError, match="No staff member"):
        _run("dedupe", "--supervisor", "nobody", "--password-file", str(password_file))
    for bad in ("1.5", "0", "x"):
        with pytest.raises(CommandError, match="threshold"):
            _run(
                "dedupe", "--supervisor", "alice", "--password-file", str(password_file),
                "--threshold", bad,
            )  # fmt: skip


# --- haven link --------------------------------------------------------------------------------


def _partner_file(path: Path, passphrase: str = PASSPHRASE, linkage: str = LINKAGE) -> Path:
    """The partner's side: their own records, encoded under the same agreed secret."""
    secret = LinkageSecret.from_passphrase(passphrase, linkage=linkage)
    records = [
        match_record(
            id="gov-17",
            name="Jang Jin Seong",
            birth_year=1971,
            sex="male",
            origin="sinuiju",
            occupation="official",
        ),
        match_record(id="gov-18", name="Park Mi-rae", birth_year=1988, sex="female"),
    ]
    with path.open("w", encoding="utf-8") as handle:
        encode_linkage_file(records=records, secret=secret, out=handle)
    return path


def _encode(tmp_path: Path, secret_file: Path, password_file: Path, *extra: str) -> Path:
    out = tmp_path / "ours.jsonl"
    _run(
        "link", "encode", "--secret-file", str(secret_file), "--linkage", LINKAGE,
        "--out", str(out), "--supervisor", "alice", "--password-file", str(password_file),
        *extra,
    )  # fmt: skip
    return out


def test_link_encode_and_match(alice, ctx, tmp_path, secret_file, password_file):
    ours = record(ctx=ctx, actor=alice, **HANGUL)
    record(ctx=ctx, actor=alice, name_hangul="김선희", sex="female", birth_value="1990")
    out = _encode(tmp_path, secret_file, password_file)
    text = out.read_text(encoding="utf-8")
    header = json.loads(text.splitlines()[0])
    assert header["count"] == 2
    # The filters (base64), tokens and blocking tokens (hex) are checked as what they are: random-looking
    # text in which "1971" turns up by chance in about one run in fifty.
    bare = []
    for line in text.splitlines()[1:]:
        entry = json.loads(line)
        assert all(base64.b64decode(v, validate=True) for v in entry.pop("b").values())
        assert all(int(v, 16) >= 0 for v in entry.pop("t").values())
        assert all(int(v, 16) >= 0 for v in entry.pop("k"))
        bare.append(json.dumps(entry, ensure_ascii=False))
    plain = "\n".join([text.splitlines()[0], *bare])
    for value in ("장진성", "김선희", "Sinuiju", "sinuiju", "1971", "Jin"):
        assert value not in plain
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    theirs = _partner_file(tmp_path / "theirs.jsonl")
    stdout, stderr = _run(
        "link", "match", str(out), str(theirs), "--secret-file", str(secret_file),
        "--linkage", LINKAGE,
    )  # fmt: skip
    lines = stdout.strip().splitlines()
    assert lines[0] == "left_id\tright_id\tprobability"
    assert [line.split("\t")[:2] for line in lines[1:]] == [[str(ours.pk), "gov-17"]]
    assert "1 matching pairs" in stderr


def test_link_encode_refuses_to_overwrite_and_short_passphrases(
    alice, ctx, tmp_path, secret_file, password_file
):
    record(ctx=ctx, actor=alice, **HANGUL)
    out = _encode(tmp_path, secret_file, password_file)
    with pytest.raises(CommandError, match="exists"):
        _encode(tmp_path, secret_file, password_file)
    _encode(tmp_path, secret_file, password_file, "--force")
    assert out.exists()
    short = tmp_path / "short"
    short.write_text("too short\n", encoding="utf-8")
    with pytest.raises(CommandError, match="at least 16"):
        _encode(tmp_path, short, password_file, "--force")


def _match(left: Path, right: Path, secret_file: Path, *extra: str) -> tuple[str, str]:
    return _run(
        "link", "match", str(left), str(right), "--secret-file", str(secret_file),
        "--linkage", LINKAGE, *extra,
    )  # fmt: skip


def test_link_match_refuses_a_file_made_with_another_secret(tmp_path, secret_file):
    ours = _partner_file(tmp_path / "a.jsonl")
    other = _partner_file(tmp_path / "b.jsonl", passphrase="another passphrase entirely")
    with pytest.raises(CommandError, match="different linkage secret"):
        _match(ours, other, secret_file)
    renamed = _partner_file(tmp_path / "c.jsonl", linkage="another-linkage")
    with pytest.raises(CommandError, match="different linkage secret"):
        _match(ours, renamed, secret_file)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a Haven linkage encodings file"),
        (b"hello\n", "not a Haven linkage encodings file"),
        (b'{"format": "haven-linkage"}\n', "version"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"x" * 70_000, "too long"),
    ],
)
def test_link_match_refuses_malformed_files(tmp_path, secret_file, content, message):
    good = _partner_file(tmp_path / "good.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        _match(good, bad, secret_file)


def test_link_match_refuses_a_truncated_or_edited_file(tmp_path, secret_file):
    good = _partner_file(tmp_path / "good.jsonl")
    lines = good.read_text(encoding="utf-8").splitlines()
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="header says 2 records"):
        _match(good, truncated, secret_file)
    edited = tmp_path / "edited.jsonl"
    edited.write_text(lines[0] + "\n" + lines[1].replace('"b":', '"x":') + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 2"):
        _match(good, edited, secret_file)


def test_link_match_refuses_missing_and_huge_files(tmp_path, secret_file):
    good = _partner_file(tmp_path / "good.jsonl")
    with pytest.raises(CommandError, match="Cannot read"):
        _match(good, tmp_path / "missing.jsonl", secret_file)
    huge = tmp_path / "huge.jsonl"
    with huge.open("wb") as handle:
        handle.truncate(3 << 20)  # 3 MiB (sparse)
    with pytest.raises(CommandError, match="over the limit"):
        _match(good, huge, secret_file, "--max-mb", "2")
    with pytest.raises(CommandError, match="Cannot read the secret file"):
        _match(good, good, tmp_path / "no-secret")
