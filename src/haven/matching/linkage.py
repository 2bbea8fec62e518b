"""Private linkage with a partner: encodings files with no names in them, and matching two.

Each side encodes its records under a :class:`haven.crypto.LinkageSecret` agreed out of band
(:func:`encode_linkage_file`); either side matches two such files (:func:`match_linkage_files`)
and gets pairs of local ids. A file is JSON lines: a header, then one line per record::

    {"format": "haven-linkage", "version": 1, "check": "<key-check value>", "count": n,
     "extra_fields": [...], "blooms": {"name.phonetic": [512, 10], ...}, "tokens": [...]}
    {"id": "<local id>", "b": {"name.phonetic": "<base64>", ...}, "t": {"sex": "<hex>", ...},
     "k": ["<hex blocking token>", ...]}

The check value tells whether two files were made under the same secret: a file made with
another secret is refused with :class:`LinkageFileError` rather than silently matching nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any, Protocol

import numpy as np

from haven.matching.encodings import (
    BLOOMS,
    ENCODING_VERSION,
    EXTRA_BLOOM,
    TOKEN_FIELDS,
    EncodedTable,
    Hasher,
    encode_records,
)
from haven.matching.engine import MatchResult, ProposedMatch, link_tables
from haven.matching.model import DEFAULT_THRESHOLD
from haven.matching.records import MatchRecord

FORMAT = "haven-linkage"
MAX_LINE = 1 << 16  # bytes: a record line is about 2 KiB; anything far longer is not ours
MAX_ID = 200
# A record without a name is not encoded: it could only ever match on guesswork.
MIN_FIELDS = ("name",)


class LinkageFileError(ValueError):
    """An encodings file is malformed, of another version, or made under another secret."""


class Secret(Protocol):
    """What this module needs of :class:`haven.crypto.LinkageSecret`."""

    @property
    def check_value(self) -> str: ...

    def keyed_hasher(self, purpose: str) -> Hasher: ...


def _header(table: EncodedTable, secret: Secret) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": ENCODING_VERSION,
        "check": secret.check_value,
        "count": len(table),
        "extra_fields": list(table.extra_fields),
        "blooms": {k: [s.bits, s.hashes] for k, s in BLOOMS.items()},
        "extra_bloom": [EXTRA_BLOOM.bits, EXTRA_BLOOM.hashes],
        "tokens": list(TOKEN_FIELDS),
    }


def encode_linkage_file(
    *,
    records: Sequence[MatchRecord],
    secret: Secret,
    out: IO[str],
    extra_fields: Sequence[str] = (),
    block_on: Sequence[str] = (),
) -> int:
    """Write the encodings of ``records`` to ``out``; returns the number of records written.

    Records without a name are left out (see ``MIN_FIELDS``). Ids are the caller's local ids,
    written as given (cut to 200 characters). ``extra_fields`` and ``block_on`` are as for
    :func:`haven.matching.encodings.encode_records`; both partners must use the same.
    """
    usable = [r for r in records if r.name.text]
    table = encode_records(
        records=usable,
        hasher_for=secret.keyed_hasher,
        extra_fields=extra_fields,
        block_on=block_on,
    )
    out.write(json.dumps(_header(table, secret)) + "\n")
    rows_of: dict[int, list[str]] = {}
    for row, tok in zip(table.block_rows.tolist(), table.block_tokens.tolist(), strict=True):
        rows_of.setdefault(row, []).append(f"{tok:016x}")
    for k, rid in enumerate(table.ids):
        line = {
            "id": rid[:MAX_ID],
            "b": {f: base64.b64encode(a[k].tobytes()).decode() for f, a in table.blooms.items()},
            "t": {f: f"{int(a[k]):016x}" for f, a in table.tokens.items()},
            "k": rows_of.get(k, []),
        }
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
    return len(table)


def _fail(where: str, why: str) -> LinkageFileError:
    return LinkageFileError(f"{where}: {why}")


def _check_header(header: Any, secret: Secret, name: str) -> tuple[str, ...]:
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _fail(name, "not a Haven linkage encodings file (no header on the first line)")
    if header.get("version") != ENCODING_VERSION:
        raise _fail(
            name,
            f"encodings version {header.get('version')!r}; this Haven reads {ENCODING_VERSION}",
        )
    if header.get("check") != secret.check_value:
        raise _fail(
            name,
            "made with a different linkage secret (key-check value differs): both sides must "
            "encode with the same passphrase and linkage name",
        )
    expected = _header(
        EncodedTable([], {}, {}, np.zeros(0, np.int64), np.zeros(0, np.uint64)), secret
    )
    for key in ("blooms", "extra_bloom", "tokens"):
        if header.get(key) != expected[key]:
            raise _fail(name, f"encoding parameters ({key}) differ from this Haven's")
    extra = header.get("extra_fields")
    if not isinstance(extra, list) or not all(isinstance(f, str) for f in extra):
        raise _fail(name, "the header's extra_fields is not a list of names")
    return tuple(extra)


def _hex(value: Any, where: str) -> int:
    if not isinstance(value, str) or len(value) != 16:
        raise LinkageFileError(f"{where}: a token is not 16 hex digits")
    try:
        return int(value, 16)
    except ValueError:
        raise LinkageFileError(f"{where}: a token is not 16 hex digits") from None


def load_linkage_file(*, lines: Iterable[str], secret: Secret, name: str = "file") -> EncodedTable:
    """Read and validate an encodings file (an iterable of lines: an open file will do).

    Raises :class:`LinkageFileError` naming the line and the problem for anything malformed,
    and refuses a file made under another secret.
    """
    it = iter(lines)
    first = next(it, "")
    try:
        header = json.loads(first) if len(first) <= MAX_LINE else None
    except json.JSONDecodeError:
        header = None
    extra = _check_header(header, secret, name)
    count = header.get("count") if isinstance(header, dict) else None
    bloom_words = {k: s.words for k, s in BLOOMS.items()} | {
        f"extra.{f}": EXTRA_BLOOM.words for f in extra
    }
    token_names = TOKEN_FIELDS
    ids: list[str] = []
    blooms: dict[str, list[bytes]] = {k: [] for k in bloom_words}
    tokens: dict[str, list[int]] = {k: [] for k in token_names}
    rows: list[int] = []
    toks: list[int] = []
    for n, raw in enumerate(it, start=2):
        where = f"{name}, line {n}"
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            raise _fail(where, "line too long")
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _fail(where, f"not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            raise _fail(where, "a record needs a string id")
        b, t, k = rec.get("b"), rec.get("t"), rec.get("k")
        if not isinstance(b, dict) or not isinstance(t, dict) or not isinstance(k, list):
            raise _fail(where, "a record needs b (filters), t (tokens) and k (blocking) parts")
        for f, words in bloom_words.items():
            try:
                data = base64.b64decode(b.get(f, ""), validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise _fail(where, f"filter {f} is not base64") from None
            if len(data) != words * 8:
                raise _fail(where, f"filter {f} has {len(data)} bytes, expected {words * 8}")
            blooms[f].append(data)
        for f in token_names:
            tokens[f].append(_hex(t.get(f), where))
        row = len(ids)
        for tok in k:
            rows.append(row)
            toks.append(_hex(tok, where))
        ids.append(rec["id"])
    if len(ids) != count:
        raise _fail(name, f"header says {count!r} records, the file holds {len(ids)}")
    if len(set(ids)) != len(ids):
        raise _fail(name, "local ids repeat")
    return EncodedTable(
        ids=ids,
        blooms={
            f: np.frombuffer(b"".join(v), dtype=np.uint64).reshape(len(ids), w).copy()
            for f, v in blooms.items()
            for w in [bloom_words[f]]
        },
        tokens={f: np.array(v, dtype=np.uint64) for f, v in tokens.items()},
        block_rows=np.array(rows, dtype=np.int64),
        block_tokens=np.array(toks, dtype=np.uint64),
        extra_fields=extra,
    )


def match_linkage_files(
    *,
    left: EncodedTable,
    right: EncodedTable,
    threshold: float = DEFAULT_THRESHOLD,
    name_parts: tuple[str, ...] = (),
    ignore_fields: tuple[str, ...] = (),
) -> tuple[list[ProposedMatch], MatchResult]:
    """Link two loaded files one-to-one; the pairs by local id (best first) and the full result.

    ``result.explain(k)`` tells, for the k-th pair of the arrays, which fields agreed. The
    options are those of :func:`haven.matching.engine.link_tables`.
    """
    if left.extra_fields != right.extra_fields:
        raise LinkageFileError(
            "the two files encode different fields: "
            f"{list(left.extra_fields)} and {list(right.extra_fields)}"
        )
    result = link_tables(
        left=left,
        right=right,
        threshold=threshold,
        name_parts=name_parts,
        ignore_fields=ignore_fields,
    )
    return result.pairs(), result
