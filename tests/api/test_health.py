"""/health: 200 with status, version and database; 503 when the database is gone."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy.engine import make_url

from radiocalico import __version__, create_app
from radiocalico.config import Config
from radiocalico.services import services
from tests.conftest import _libpq_dsn


def test_healthy(live_server):
    response = requests.get(f"{live_server.url}/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "version": __version__, "database": "ok", "reason": None
    }


@pytest.fixture
def unreachable_app(tmp_path):
    """Apps on a database that cannot be reached, closed after the test."""
    apps = []

    def make(url: str):
        apps.append(create_app(
            Config(instance_path=tmp_path, database_url=url, secret_key="0123456789abcdef" * 2,
                   station_mode="external", listener_token_min_age=0.0)
        ))
        return apps[-1]

    yield make
    for app in apps:
        services(app).close()


def test_503_when_postgresql_is_unreachable(unreachable_app, make_live_server):
    # Nothing listens on port 1: the connection is refused at once.
    app = unreachable_app("postgresql+psycopg://root@127.0.0.1:1/test")
    response = requests.get(f"{make_live_server(app).url}/health", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("unavailable", "unreachable")
    assert "127.0.0.1" not in response.text and "psycopg" not in response.text


def test_503_when_the_sqlite_file_cannot_be_opened(tmp_path, unreachable_app, make_live_server):
    app = unreachable_app(f"sqlite:///{tmp_path}/missing-dir/db.sqlite3")
    response = requests.get(f"{make_live_server(app).url}/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


class Forwarder:
    """A TCP relay to PostgreSQL that the test can cut and restore, like a network outage."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.up = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections.clear()

    def restore(self):
        self.up = True


def test_503_while_postgresql_is_gone_and_200_when_it_is_back(
    postgres_schema_url, unreachable_app, make_live_server
):
    url = make_url(postgres_schema_url)
    relay = Forwarder(url.port or 5432)
    app = unreachable_app(url.set(port=relay.port).render_as_string(False))
    server = make_live_server(app)
    assert requests.get(f"{server.url}/health").status_code == 200
    relay.cut()
    gone = requests.get(f"{server.url}/health", timeout=10)
    assert gone.status_code == 503
    assert gone.json()["database"] == "unreachable"
    relay.restore()
    assert requests.get(f"{server.url}/health").status_code == 200


def test_requests_while_the_database_is_down_get_503_and_one_log_line(
    unreachable_app, make_live_server, caplog
):
    """Finding 9: a down database gave 500 and a traceback with the SQL parameters
    (e-mail addresses included) for every request."""
    import logging

    from radiocalico.errors import DATABASE_RETRY_AFTER
    from tests.api.conftest import fingerprint, song

    app = unreachable_app("postgresql+psycopg://root@127.0.0.1:1/test")
    url = make_live_server(app).url
    track = song()
    caplog.set_level(logging.INFO)
    for n in range(3):
        listener = requests.Session()
        listener.get(f"{url}/api/listener", timeout=10).raise_for_status()
        vote = listener.put(
            f"{url}/api/ratings/{track['id']}/vote",
            json={"value": "up", "artist": track["artist"], "title": track["title"]},
            headers={"X-Listener-Fingerprint": fingerprint(f"l{n}")}, timeout=10,
        )
        signup = requests.post(f"{url}/api/users", json={
            "username": f"someone{n}", "email": f"someone{n}@example.com",
            "password": "a long and unusual passphrase"}, timeout=10)
        for response in (vote, signup):
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"] == "application/json"
            # The database's few seconds, not the rate limit's window (issue 21).
            assert response.headers["Retry-After"] == DATABASE_RETRY_AFTER
            assert response.json()["error"]["code"] == "service_unavailable"
            assert "psycopg" not in response.text and "127.0.0.1" not in response.text
    logged = [r for r in caplog.records if r.name.startswith("radiocalico")
              and r.levelno >= logging.ERROR]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert "example.com" not in caplog.text and "Traceback" not in caplog.text


def test_the_first_requests_after_postgresql_ends_every_connection_succeed(
    postgres_schema_url, unreachable_app, make_live_server
):
    """A restart of PostgreSQL ends every connection the app's pool holds (a termination
    notice, then the socket closes). The next requests must get fresh connections, not
    fail on the old ones: a docker test stopping the database saw a vote answered 503
    after /health/ready was 200 again."""
    import concurrent.futures

    import psycopg

    from radiocalico.db import upgrade
    from tests.api.conftest import anonymous_session, play, song

    name = f"rc-restart-{uuid.uuid4().hex[:8]}"
    url = f"{postgres_schema_url}&application_name={name}"
    app = unreachable_app(url)
    upgrade(services(app).store.engine)
    track = song()
    play(app, track)
    server = make_live_server(app)
    # Fill the pool: several requests at once each hold a connection.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: requests.get(f"{server.url}/api/ratings/{track['id']}",
                                                       timeout=10).status_code, range(24)))
    assert answers == [200] * 24
    with psycopg.connect(_libpq_dsn(postgres_schema_url), autocommit=True) as admin:
        ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = %s", (name,)).fetchone()[0]
    assert ended >= 2, "the pool held connections to end"
    time.sleep(0.5)  # the notices reach the app's sockets
    listener = anonymous_session(server.url, "after the restart")
    vote = listener.put(f"{server.url}/api/ratings/{track['id']}/vote",
                        json={"value": "up", "artist": track["artist"], "title": track["title"]},
                        timeout=10)
    assert vote.status_code == 200, vote.text
    assert vote.json()["up"] == 1
    for _ in range(ended):
        assert requests.get(f"{server.url}/api/ratings/{track['id']}", timeout=10).status_code == 200
    assert requests.get(f"{server.url}/health", timeout=10).status_code == 200
