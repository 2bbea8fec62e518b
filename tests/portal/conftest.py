"""The portal's tests: receipts hashed at Argon2id's minimum cost, limiters emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from haven.portal import limits


@pytest.fixture(autouse=True)
def _portal_settings(settings) -> Iterator[None]:
    settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT = 1
    settings.HAVEN_PORTAL_RECEIPT_MEMLIMIT = 8 * 1024 * 1024
    limits.submissions.reset()
    limits.lookups.reset()
    yield
    limits.submissions.reset()
    limits.lookups.reset()
