"""Browser fixtures: the real stack (`radiocalico serve` with a generated tone library) and
headless Debian Chromium driven by Playwright (Firefox and WebKitGTK have theirs in
test_engines_browser.py). Without Chromium the browser tests are skipped on a developer
machine and fail in CI (CI=true)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.stack import Server, make_library

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# What Chromium itself logs when a request fails while the network or the server is down.
NETWORK_NOISE = re.compile(r"Failed to load resource|net::ERR_")


@pytest.fixture(scope="session")
def tone_library(tmp_path_factory) -> Path:
    return make_library(tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="session")
def station_server(tmp_path_factory, tone_library):
    server = Server(tmp_path_factory.mktemp("instance"), tone_library, segment_seconds=1.0)
    server.start()
    yield server
    server.stop()


class ConsoleWatch:
    """Collects console errors and uncaught exceptions of a page."""

    def __init__(self):
        self.errors: list[str] = []
        self.allow_network_noise = False

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type in ("error", "assert") and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def unexpected(self) -> list[str]:
        if self.allow_network_noise:
            return [e for e in self.errors if not NETWORK_NOISE.search(e)]
        return list(self.errors)


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(context, console, station_server):
    page = context.new_page()
    console.attach(page)
    page.set_default_timeout(15000)
    yield page
    assert console.unexpected() == [], "the page logged errors"
