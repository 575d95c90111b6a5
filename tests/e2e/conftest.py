"""Real-browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Fixtures
- `chromium_path` (session): the system Chromium (`CHROMIUM_PATH`, else /usr/bin/chromium, else on PATH).
  None found: the test is skipped — except when the `CI` variable is set, where it fails.
- `browser` (per test): a headless Chromium. Playwright's sync API runs an event loop in this
  thread, so it is started and stopped around each test (other tests never see that loop).
- `page` (per test): a fresh French context (fr-FR, 1280×900) whose `base_url` is the live server:
  `page.goto("/admin/")` (the live server never serves media files). While the browser lives,
  DJANGO_ALLOW_ASYNC_UNSAFE is set so the test body may use the ORM beside Playwright's loop.
- `login(page, username, password, path="/portail/connexion/")`: fills a Django login form
  (portal or admin: both use `username` / `password` fields) and waits for the next page.

Every test in this folder is marked `e2e` and runs on a transactional database with
`serialized_rollback=True` (added below when the test has no `django_db` mark), so the schedules
and campaign shipped by the data migrations are restored after the live server's flush.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
from django.test.utils import override_settings

HERE = Path(__file__).parent

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def in_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason):
    """Skip on a developer machine; fail in CI, where browser tests must run."""
    if in_ci():
        pytest.fail(f"{reason} — CI is set, so browser tests must run (.ci/run installs chromium).")
    pytest.skip(reason)


def find_chromium():
    candidates = [
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Before pytest-django orders tests by database use: ours must count as serialized transactional tests.
    for item in items:
        if HERE not in Path(item.path).parents:
            continue
        if item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
        marker = item.get_closest_marker("django_db")
        if marker is None:
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
        elif not (marker.kwargs.get("transaction") and marker.kwargs.get("serialized_rollback")):
            raise pytest.UsageError(
                f"{item.nodeid}: browser tests need django_db(transaction=True, serialized_rollback=True) "
                "(or no django_db mark at all): the live server's flush would otherwise drop the data migrations."
            )


@pytest.fixture(scope="session")
def chromium_path():
    path = find_chromium()
    if path is None:
        unavailable("No Chromium found (apt-get install chromium, or set CHROMIUM_PATH)")
    return path


@pytest.fixture
def browser(chromium_path, monkeypatch):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("The playwright package is not installed (requirements-dev.txt)")
    # Playwright's loop runs in this thread; Django would refuse ORM calls from the test body.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # The ORM calls made while Playwright ran used connections of its context (asgiref's
            # Local follows context variables); close them here or PostgreSQL keeps them open.
            connections.close_all()


@pytest.fixture(scope="session")
def live_server(live_server_media_url_for_start, live_server):
    """pytest-django's live server, started while MEDIA_URL is an absolute URL (see below)."""
    live_server_media_url_for_start.disable()
    return live_server


@pytest.fixture(scope="session")
def live_server_media_url_for_start():
    # The project sets MEDIA_URL = None (proofs are never public media), which breaks the media
    # handler the live server builds when it starts; an absolute URL on another host makes that
    # handler serve nothing. It is read once, at start: the override ends right after.
    override = override_settings(MEDIA_URL="http://media.invalid/")
    override.enable()
    return override


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _login(page, username, password, path="/portail/connexion/"):
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.press("input[name=password]", "Enter")
    return page


@pytest.fixture
def login():
    return _login
