"""Private linkage files: round trip, no names inside, refusal of bad files and other secrets."""

from __future__ import annotations

import io
import json

import pytest

from haven.crypto import LinkageSecret, LinkageSecretError
from haven.matching.linkage import (
    LinkageFileError,
    encode_linkage_file,
    load_linkage_file,
    match_linkage_files,
)
from haven.matching.records import match_record

from .population import people, record, romanized

SECRET = LinkageSecret.generate()


def _file(records: list, secret: LinkageSecret = SECRET) -> str:  # type: ignore[type-arg]
    out = io.StringIO()
    encode_linkage_file(records=records, secret=secret, out=out)
    return out.getvalue()


def _load(text: str, secret: LinkageSecret = SECRET) -> object:
    return load_linkage_file(lines=io.StringIO(text), secret=secret, name="partner.jsonl")


@pytest.fixture(scope="module")
def two_files() -> tuple[str, str, list[str]]:
    pop = people(400, seed=3)
    ours = [record(k, p) for k, p in enumerate(pop)]
    theirs = [
        record(k, p, name=romanized(p, "nk"), copy=1) for k, p in enumerate(pop) if k % 4 == 0
    ]
    theirs += [record(1000 + k, p) for k, p in enumerate(people(100, seed=99))]  # strangers
    return _file(ours), _file(theirs), [r.name.text for r in ours + theirs]


def test_two_partners_files_match_by_local_id(two_files: tuple[str, str, list[str]]) -> None:
    a, b, _names = two_files
    pairs, result = match_linkage_files(left=_load(a), right=_load(b))  # type: ignore[arg-type]
    correct = [p for p in pairs if p.left_id.split("-")[0] == p.right_id.split("-")[0]]
    assert len(correct) >= 95 and len(pairs) - len(correct) <= 2
    assert result.explain(0).evidence


def test_an_encodings_file_holds_no_names(two_files: tuple[str, str, list[str]]) -> None:
    a, b, names = two_files
    text = a + b
    for name in names[:50]:
        assert name not in text
        for word in name.split():
            assert f'"{word}' not in text.casefold()
    header = json.loads(a.splitlines()[0])
    assert header["format"] == "haven-linkage" and header["check"] == SECRET.check_value


def test_a_file_made_with_another_secret_is_refused(two_files: tuple[str, str, list[str]]) -> None:
    a, _b, _names = two_files
    with pytest.raises(LinkageFileError, match="different linkage secret"):
        _load(a, LinkageSecret.generate())


def _corrupt(text: str, line: int, change: dict) -> str:  # type: ignore[type-arg]
    lines = text.splitlines()
    rec = json.loads(lines[line])
    rec.update(change)
    lines[line] = json.dumps(rec)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: "", "not a Haven linkage"),
        (lambda t: "garbage\n" + t, "not a Haven linkage"),
        (lambda t: "[1, 2]\n", "not a Haven linkage"),
        (lambda t: _corrupt(t, 0, {"version": 99}), "version 99"),
        (lambda t: _corrupt(t, 0, {"blooms": {"name.phonetic": [64, 2]}}), "parameters"),
        (lambda t: _corrupt(t, 0, {"count": 3}), "header says 3"),
        (lambda t: t + "{not json\n", "line 7: not JSON"),
        (lambda t: t + "[]\n", "string id"),
        (lambda t: _corrupt(t, 1, {"b": {"name.phonetic": "!!!"}}), "not base64"),
        (lambda t: _corrupt(t, 1, {"b": {"name.phonetic": "AAAA"}}), "expected 128"),
        (lambda t: _corrupt(t, 1, {"t": {"sex": "zz"}}), "16 hex"),
        (lambda t: _corrupt(t, 1, {"k": "abc"}), r"b \(filters\), t \(tokens\) and k"),
        (lambda t: _corrupt(_corrupt(t, 2, {"id": "same"}), 1, {"id": "same"}), "ids repeat"),
        (lambda t: t + "x" * 70_000 + "\n", "line too long"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_message(mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    records = [
        match_record(id=f"r{k}", name=n, birth_year=1990)
        for k, n in enumerate(["김선희", "박철호", "Ri Sol Ju", "Choe Min", "한영"])
    ]
    text = _file(records)
    with pytest.raises(LinkageFileError, match=message):
        _load(mangle(text))


def test_records_without_a_name_are_left_out() -> None:
    records = [match_record(id="a", name="", birth_year=1990), match_record(id="b", name="김선희")]
    table = _load(_file(records))
    assert table.ids == ["b"]  # type: ignore[attr-defined]


def test_files_with_different_field_sets_are_refused() -> None:
    rec = [match_record(id="a", name="김선희", extra={"workplace": "ningbo"})]
    out = io.StringIO()
    encode_linkage_file(records=rec, secret=SECRET, out=out, extra_fields=("workplace",))
    with pytest.raises(LinkageFileError, match="different fields"):
        match_linkage_files(left=_load(out.getvalue()), right=_load(_file(rec)))  # type: ignore[arg-type]


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(LinkageSecretError, match="at least 16"):
        LinkageSecret.from_passphrase("too short")


def test_the_same_passphrase_and_linkage_give_the_same_secret() -> None:
    phrase = "river lantern copper meadow 7"
    a = LinkageSecret.from_passphrase(phrase, linkage="ngo-ministry")
    b = LinkageSecret.from_passphrase(f"  {phrase} ", linkage="ngo-ministry")
    c = LinkageSecret.from_passphrase(phrase, linkage="another-linkage")
    assert a.check_value == b.check_value != c.check_value
    assert repr(a) == "LinkageSecret(…)"
