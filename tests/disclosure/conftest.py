"""Fixtures of the disclosure tests: the press officer's keys, and the story's group."""

from __future__ import annotations

import pytest

from haven.crypto import KeyContext
from tests.disclosure.helpers import make_group
from tests.factories import ctx_for


@pytest.fixture
def press(heidi) -> KeyContext:
    """Heidi's keys: the press office's key, and no case."""
    return ctx_for(heidi)


@pytest.fixture
def group(ctx, alice):
    return make_group(ctx, alice)
