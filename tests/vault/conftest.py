"""Fixtures of the vault tests."""

from __future__ import annotations

import pytest

from haven.vault import index


@pytest.fixture
def buckets_that_never_collide(monkeypatch):
    """Partial name forms share one of 4,096 buckets by design, so two forms (of one name, or of
    two names) fall in the same bucket under one key and not under the next, now and then: the
    number of a record's distinct tokens, or whether two records share one, changes with the
    key. With 2**32 buckets it does not, in practice."""
    monkeypatch.setattr(index, "PARTIAL_BUCKETS", 2**32)
