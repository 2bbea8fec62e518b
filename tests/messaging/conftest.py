from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _cheap_receipts(settings) -> None:
    settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT = 1
    settings.HAVEN_PORTAL_RECEIPT_MEMLIMIT = 8 * 1024 * 1024
