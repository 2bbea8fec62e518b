"""The portal's tests: receipts hashed at Argon2id's minimum cost, limiters emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from haven.portal import limits


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The portal is served by a process that serves everything (the staff side's middleware
    # around it) or by a portal-only one (`haven portal`, HAVEN_SERVE=portal, a slim middleware
    # list): the tests that drive it through Django's test client run under both. The browser
    # tests and those that also use staff pages drive the first; the crash test and the live
    # tests (``*_live``) start `haven portal` itself, whose middleware is its own.
    if "portal_middleware" in metafunc.fixturenames:
        both = not (
            "browser" in metafunc.module.__name__
            or metafunc.module.__name__.endswith("_live")
            or metafunc.definition.get_closest_marker("staff_pages")
        )
        stacks = ["all", "portal"] if both else ["all"]
        metafunc.parametrize("portal_middleware", stacks, ids=[f"served-{s}" for s in stacks])


@pytest.fixture
def portal_middleware(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _portal_settings(settings, portal_middleware: str) -> Iterator[None]:
    if portal_middleware == "portal":
        settings.MIDDLEWARE = settings.PORTAL_MIDDLEWARE
    settings.HAVEN_PORTAL_RECEIPT_OPSLIMIT = 1
    settings.HAVEN_PORTAL_RECEIPT_MEMLIMIT = 8 * 1024 * 1024
    limits.reset_all()
    yield
    limits.reset_all()


@pytest.fixture(scope="module")
def _sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread; the ORM calls the browser tests
    make stay synchronous and safe. Allowed for the modules that start a browser only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_sync_orm_beside_playwright: None) -> Iterator[Browser]:
    """Debian's Chromium, one per module (each test opens its own context)."""
    from tests.browser.test_journey_browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
