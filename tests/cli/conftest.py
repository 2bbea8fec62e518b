"""Run `haven` in-process: Django's command runner closes every connection when a command ends,
which would close the test database under the test; keep it open."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)
