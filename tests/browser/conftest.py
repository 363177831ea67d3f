"""Fixtures for the real-browser journeys: one system Chromium per session (driven by
Playwright's sync API), a fresh browser context per user, and the live server.

The journeys need /usr/bin/chromium (Debian package ``chromium``); without it every test
here is skipped with a message saying so. Never run ``playwright install``.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM (fixtures, the
# live server's in-memory SQLite shared connection) must still be usable from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Serve on 127.0.0.1, not "localhost": only the loopback address may be contacted and
# Chromium may try ::1 first.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = Path(os.environ.get("GUANXI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium floods the (closed) network with background requests.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "guanxi-demo"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
            "(browser journeys need the system Chromium; do not run `playwright install`)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        sync_api.expect.set_options(timeout=TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def app(transactional_db, live_server, users):
    """The live server with the demo users in its database. Returns the base URL."""
    return live_server.url


@pytest.fixture
def regions(transactional_db):
    from guanxi.core.regions import REGION_DATA, regions_load

    if not REGION_DATA.exists():
        pytest.skip(f"{REGION_DATA} is missing: run `npm ci` for the region list")
    return regions_load()


@pytest.fixture
def new_page(browser, app) -> Iterator[Callable[..., object]]:
    """``new_page(**context_options)``: a page in a fresh context (own cookies), closed at
    the end of the test. Defaults: English Accept-Language, desktop viewport."""
    contexts = []

    def make(**options):
        options.setdefault("locale", "en-US")
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=app, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def login(new_page) -> Callable[..., object]:
    """``login(username, **context_options)``: a page logged in as ``username``, on home."""
    from playwright.sync_api import expect

    def do_login(username: str, **options):
        page = new_page(**options)
        page.goto("/login/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form.stacked button[type=submit]").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        expect(page.locator("header.topbar")).to_be_visible()
        return page

    return do_login
