"""The encodings table holds no plaintext: name and field markers appear nowhere at rest."""

from __future__ import annotations

import secrets

import pytest
from django.db import connection

from haven.dedupe.models import BlockToken, PersonEncoding
from haven.dedupe.selectors import duplicates_for_cases
from haven.dedupe.services import dedupe_run
from tests.dedupe.helpers import record
from tests.factories import ctx_for
from tests.vault.test_no_plaintext import _database_bytes


@pytest.mark.django_db(transaction=True)
def test_no_name_or_field_marker_is_stored_in_the_clear(alice, dave):
    tag = secrets.token_hex(6)
    name = f"MARK{tag}name"
    hangul = f"마커{tag}"
    origin = f"MARK{tag}origin"
    ctx = ctx_for(alice)
    first = record(ctx=ctx, actor=alice, name_romanized=f"Kim {name}", origin_region=origin)
    second = record(ctx=ctx, actor=alice, name_hangul=hangul, name_romanized=f"Kim {name}")
    duplicates_for_cases(ctx=ctx_for(dave), user=dave, cases=[first, second])
    dedupe_run(ctx=ctx, actor=alice)
    assert PersonEncoding.objects.count() == 2 and BlockToken.objects.exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
    stored = _database_bytes()
    assert b"alice" in stored  # the scan does see plain columns (a username)
    for marker in (name, name.casefold(), hangul, origin, origin.casefold(), tag):
        for encoded in (marker.encode(), marker.encode("utf-16-le")):
            assert encoded not in stored, marker
    # And the encodings themselves are keyed: not even the marker's letters as n-grams.
    for encoding in PersonEncoding.objects.all():
        assert tag.encode() not in bytes(encoding.blooms) + bytes(encoding.tokens)
