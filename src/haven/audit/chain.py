"""The canonical form of an audit entry and its hash: the one definition of what is chained.

An entry's hash is SHA-256 over a compact JSON object with sorted keys (ASCII only, no NaN)::

    {"action": ..., "actor": "<user id>" | null, "at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
     "detail": {...}, "prev": "<hash of the entry before>", "seq": N, "session": "...",
     "target_id": "...", "target_type": "...", "v": 1}

``prev`` of the first entry is :data:`GENESIS`. Everything that says who did what to which record,
when and in which session is inside the hash, and so is the entry's place in the chain (``seq`` and
``prev``), so an edited, moved, inserted or removed entry no longer fits. ``v`` names this form, so
that it can change one day without making old entries unverifiable.

The detail is normalised once, when the entry is written (:func:`normalise_detail`), so that the
JSON column's round trip cannot change it: keys become strings and integral floats integers
(PostgreSQL's jsonb prints the float 1e16 as an integer). Hashing then takes the detail as stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from json.encoder import encode_basestring_ascii
from typing import Any

VERSION = 1  # entry_hash() writes "v":1 itself
GENESIS = "0" * 64
HASH_LENGTH = 64
# An entry's stored columns, in the order the chain's readers and writers use them.
ENTRY_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "detail",
    "session",
    "prev_hash",
    "entry_hash",
)


_string = encode_basestring_ascii
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Sorted-key, compact, ASCII JSON; raises ValueError for NaN and infinities."""
    return _ENCODER.encode(value)


def _normalise(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(item) for item in value]
    raise TypeError(f"audit detail value of type {type(value).__name__} cannot be chained")


def normalise_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as it will read back from either database: store and hash this."""
    result = json.loads(canonical_json(_normalise(detail)))
    if not isinstance(result, dict):  # pragma: no cover - a dict always round-trips to a dict
        raise TypeError("audit detail must be a mapping")
    return result


def format_at(at: dt.datetime) -> str:
    """ISO-8601 in UTC with microseconds, e.g. ``2026-11-29T08:33:00.000123Z``."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError("audit times must be timezone-aware")
    if offset:
        at = at.astimezone(dt.UTC)
    return at.isoformat(timespec="microseconds")[:-6] + "Z"  # drop "+00:00"


def canonical_entry(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: Any,
    action: str,
    target_type: str,
    target_id: str,
    detail: Any,
    session: str,
    prev_hash: str,
) -> str:
    return canonical_json(
        {
            "v": VERSION,
            "seq": int(seq),
            "at": format_at(at),
            "actor": None if actor_id is None else str(actor_id),
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "detail": detail,
            "session": session,
            "prev": prev_hash,
        }
    )


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: Any,
    action: str,
    target_type: str,
    target_id: str,
    detail: Any,
    session: str,
    prev_hash: str,
) -> str:
    """The hex SHA-256 of the entry's canonical form (:func:`canonical_entry`)."""
    return hash_values(
        seq, at, actor_id, action, target_type, target_id, detail, session, prev_hash
    )


def hash_values(
    seq: int,
    at: dt.datetime,
    actor_id: Any,
    action: str,
    target_type: str,
    target_id: str,
    detail: Any,
    session: str,
    prev_hash: str,
) -> str:
    """:func:`entry_hash` with positional arguments, for the verifier's loop.

    The JSON is assembled in sorted-key order by hand: byte for byte what :func:`canonical_entry`
    produces (a test holds them together) at a fraction of the cost. Verifying a million entries
    spends most of its time here.
    """
    return hash_text(
        seq, format_at(at), actor_id, action, target_type, target_id, detail, session, prev_hash
    )


def hash_text(
    seq: int,
    at_text: str,
    actor_id: Any,
    action: str,
    target_type: str,
    target_id: str,
    detail: Any,
    session: str,
    prev_hash: str,
) -> str:
    """:func:`hash_values` with the time already in its canonical text (:func:`format_at`)."""
    text = "".join(
        (
            '{"action":',
            _string(action),
            ',"actor":',
            "null" if actor_id is None else _string(str(actor_id)),
            ',"at":"',
            at_text,
            '","detail":',
            "{}" if detail == {} and isinstance(detail, dict) else _ENCODER.encode(detail),
            ',"prev":',
            _string(prev_hash),
            ',"seq":',
            str(int(seq)),
            ',"session":',
            _string(session),
            ',"target_id":',
            _string(target_id),
            ',"target_type":',
            _string(target_type),
            ',"v":1}',
        )
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()
