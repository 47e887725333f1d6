"""Fixtures shared by the whole suite: databases (SQLite and PostgreSQL), apps, servers.

Every database test runs twice, once per backend. PostgreSQL runs use the machine's server
(`TEST_POSTGRES_URL`, default postgresql+psycopg://root@127.0.0.1:5432/test), each in a
fresh schema dropped afterwards, so concurrent runs never collide. Without PostgreSQL the
PostgreSQL half is skipped on a developer machine and fails in CI (CI=true).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from radiocalico import create_app
from radiocalico.config import Config
from radiocalico.db import upgrade
from radiocalico.services import services

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def station_played(store, *songs: tuple[str, str, str, str]) -> None:
    """The station played each (song id, artist, title, album): one start of each, stored
    as the play recorder stores what metadatav2.json tells. Songs come only from plays: a
    vote is for a song the station played. Played again, a song changes nothing (one start,
    at one time), so a test's own triggers on `songs` see only what its votes do."""
    from datetime import datetime, timezone

    from radiocalico.db.plays import PlayStart, record

    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with store.writing() as connection:
        record(connection, [PlayStart(f"test:{sid}", sid, at, artist, title, album)
                            for sid, artist, title, album in songs])


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine, fail in CI: a missing service is never silent there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


BROWSER_FIXTURES = {"browser", "engine"}


def pytest_collection_modifyitems(items):
    """Run the Docker stack tests last: creating and removing bridges and veths changes the
    host's network, and a browser test running alongside would see ERR_NETWORK_CHANGED.

    A browser test plays real-time audio and measures it on a shared 2-core machine, where
    a busy moment can push one deadline past its bound: it gets one more try, which the
    summary reports as a rerun (R); failing twice fails. `browser` is Chromium, `engine`
    Firefox or WebKitGTK (tests/web/test_engines_browser.py)."""
    for item in items:
        if BROWSER_FIXTURES & set(item.fixturenames) and item.get_closest_marker("docker") is None:
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=1))
    items.sort(key=lambda item: item.get_closest_marker("docker") is not None)


# Debian's Chromium, with the flags this machine needs (without the networking ones it keeps
# trying to reach Google's hosts through a closed network).
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    require(Path(CHROMIUM).exists(), f"Chromium is missing at {CHROMIUM}")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test: Playwright's sync API allows only one
    running instance per thread, so tests must not start their own."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _libpq_dsn(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    try:
        with psycopg.connect(_libpq_dsn(POSTGRES_URL), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture
def postgres_schema_url(postgres_available):
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require(postgres_available, f"PostgreSQL is not reachable at {POSTGRES_URL}")
    schema = f"rc_test_{uuid.uuid4().hex[:12]}"
    dsn = _libpq_dsn(POSTGRES_URL)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'radiocalico.sqlite3'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def make_config(tmp_path: Path, database_url: str):
    """A Config for a test app; keyword arguments override fields."""

    def make(**overrides) -> Config:
        settings = dict(
            instance_path=tmp_path / "instance",
            database_url=database_url,
            secret_key="test-secret-key-" + "0123456789abcdef" * 2,
            station_mode="external",
            # Listener tokens count at once and are not scarce, and new accounts are trusted
            # and plentiful, except in the tests of them.
            listener_token_min_age=0.0,
            ratelimit_listener_tokens="100000/hour",
            account_trust_seconds=0.0,
            ratelimit_signups="100000/hour",
        )
        settings.update(overrides)
        return Config(**settings)

    return make


@pytest.fixture
def make_app(make_config):
    apps = []

    def make(**overrides):
        app = create_app(make_config(**overrides))
        upgrade(services(app).store.engine)
        apps.append(app)
        return app

    yield make
    # Each app has a recorder thread and a connection pool: a suite that left them running
    # would hold PostgreSQL connections until it ran out of them.
    for app in apps:
        services(app).close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    """The app behind a real socket (werkzeug, one thread per request)."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def make_live_server():
    servers = []

    def make(app) -> LiveServer:
        server = LiveServer(app).__enter__()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.__exit__(None, None, None)
