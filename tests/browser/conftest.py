"""End-to-end tests in a real browser: Debian's Chromium driven by Playwright (pytest-playwright),
against petiflow served on localhost with the shipped workflows and the demo organisation.

Playwright never downloads a browser here: it launches /usr/bin/chromium (`make test` installs
Debian's package when missing). Every test's clock stands still at TEST_NOW, so due times and
their colours are the same on any day. Screenshots of each screen, in Chinese and English, are
kept under var/screenshots/ for people to look at.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from api.app import create_app
from engine.services.demo import DEMO_PASSWORD
from engine.settings import PROJECT_ROOT

#: Debian's Chromium (package chromium).
CHROMIUM = os.environ.get("PETIFLOW_CHROMIUM", "/usr/bin/chromium")

#: Where screenshots are kept for people to look at (an ignored folder).
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"

#: Chromium's flags on a machine with no display, no sandbox for root and no internet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--lang=zh-TW"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium, never a browser of Playwright's own."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Under `make test-faketime` the browser keeps the real date: only petiflow's processes need the faked one,
    # and Chromium's own timers do not survive libfaketime.
    env = {name: value for name, value in os.environ.items() if name not in ("LD_PRELOAD", "FAKETIME")}
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "env": env}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A 1366x768 laptop screen in Taipei."""
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}, "locale": "zh-TW",
            "timezone_id": "Asia/Taipei"}


@pytest.fixture
def live_server(demo_runtime):
    """petiflow served on a free localhost port for the test; yields its base URL."""
    app = create_app(runtime=demo_runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """A fresh folder of screenshots for this run."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shoot(page, screenshots):
    """shoot(name[, of]): save a full-page screenshot of what the browser (or the page `of`) shows now."""
    def shoot(name: str, of=None) -> Path:
        path = screenshots / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path
    return shoot


def sign_in(page, base: str, username: str, password: str = DEMO_PASSWORD, *, next_path: str = "/") -> None:
    """Sign in through the sign-in form, as a person would."""
    page.goto(f"{base}/sign-in?next={next_path}")
    page.get_by_label(re.compile("帳號|User name")).fill(username)
    page.get_by_label(re.compile("密碼|Password")).fill(password)
    page.get_by_role("button", name=re.compile("^(登入|Sign in)$")).click()
