"""Browser harness: Playwright's sync API driving Debian's Chromium against pytest-django's live server.

Every test here is marked `browser` (skipped when Chromium is missing, see tests/conftest.py) and
uses `django_db(transaction=True)`: the live server answers from another thread with its own
connection, so seeded rows must be committed before the browser asks for them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import PASSWORD

# Playwright's sync API keeps an event loop running in the test thread, which would make Django
# refuse ORM calls from the test body (seeding, assertions on the database).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOT_DIR = Path(settings.BASE_DIR) / "var" / "screenshots"


def pytest_configure(config):
    # pytest-base-url (a pytest-playwright dependency) declares a session fixture as an instance
    # method; pytest 9 warns about it on every run. The message spans lines, hence (?s).
    config.addinivalue_line(
        "filterwarnings",
        r"ignore:(?s)Session-scoped fixtures defined as instance methods.*base_url:pytest.PytestRemovedIn10Warning",
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}, "locale": "en-GB"}


@pytest.fixture
def page(page: Page):
    """pytest-playwright's page, failing the test on a script error or a Content-Security-Policy violation.

    The policy forbids inline styles and unsigned scripts; a template that slips one in still renders,
    so the browser's console is the only place the mistake shows.
    """
    # Fail fast: every page here is server-rendered on localhost.
    page.set_default_timeout(10_000)
    expect.set_options(timeout=5_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    yield page
    assert not problems, "the browser reported:\n" + "\n".join(problems)


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form and wait until the dashboard (or clinic chooser) is shown."""
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def login(page: Page, live_server):
    """`login(user)` signs `user` in through the login form in this test's page and returns the page."""

    def _login(user, password: str = PASSWORD) -> Page:
        sign_in(page, live_server.url, user.email, password)
        return page

    return _login


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save `var/screenshots/<name>.png` (the whole page by default) and return its path."""
    if not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"screenshot names are plain file names, got {name!r}")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@pytest.fixture
def screenshot(page: Page):
    """`screenshot("revenue-filtered")` saves the current page under var/screenshots/."""
    return lambda name, **kwargs: save_screenshot(page, name, **kwargs)
