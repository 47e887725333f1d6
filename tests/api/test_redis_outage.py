"""Redis (the shared rate-limit storage) down: limits still hold, nothing answers 500,
and readiness says so. Finding 5: every vote and sign-in was a 500 while /health/ready
said 200."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests

from tests.api.conftest import Listener, song
from tests.conftest import require

REDIS_SERVER = shutil.which("redis-server")
# Long enough for a limiter that waits longer after each failed try of Redis (Flask-Limiter
# waited 1, 2, 4, 8, 16, then 32 s) to wait more than 20 s after Redis is back.
OUTAGE_SECONDS = 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

# Nothing listens on port 1: the connection is refused at once.
DOWN = "redis://127.0.0.1:1/0"


def test_votes_and_sign_ins_work_and_stay_limited_while_redis_is_down(
    make_app, make_live_server
):
    app = make_app(redis_url=DOWN, ratelimit_auth="3/minute", ratelimit_votes="2/minute")
    url = make_live_server(app).url
    fan = Listener(url, "fan", app)
    track = song()
    assert fan.vote(track, "up").status_code == 200
    assert fan.vote(track, "down").status_code == 200
    limited = fan.vote(track, "up")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"

    attempts = [
        requests.post(f"{url}/api/users/session", json={"login": "nobody", "password": "x"})
        for _ in range(4)
    ]
    assert [r.status_code for r in attempts] == [401, 401, 401, 429]


def test_readiness_fails_while_redis_is_down(make_app):
    client = make_app(redis_url=DOWN, ready_max_segment_age=0).test_client()
    response = client.get("/health/ready")
    assert response.status_code == 503
    check = response.json["checks"]["rate_limits"]
    assert check["status"] == "failing" and "Redis" in check["detail"]
    assert response.json["checks"]["database"]["status"] == "ok"


def test_readiness_skips_redis_when_none_is_configured(make_app):
    client = make_app(ready_max_segment_age=0).test_client()
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"]["rate_limits"] == {"status": "skipped"}


class PrivateRedis:
    """A redis-server of the test's own on a free port, to stop and start again."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    require(REDIS_SERVER is not None, "redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


# The limits are the same whatever the database: one is enough for a minute-long test.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_limits_are_shared_again_soon_after_redis_returns(
    make_app, make_live_server, private_redis
):
    """Issue 21 (low): after an outage of half a minute, each process kept counting on its
    own (a client got each replica's whole allowance) for up to 32 s more after Redis was
    back, instead of going back to Redis."""
    replicas = [make_app(redis_url=private_redis.url, ratelimit_votes="2/minute")
                for _ in range(2)]
    urls = [make_live_server(app).url for app in replicas]

    def counted_together() -> bool:
        """A new listener votes twice through one replica, then once through the other:
        refused when the replicas count in one place."""
        name = uuid.uuid4().hex[:8]
        fan, track = Listener(urls[0], name, replicas[0]), song(title=f"Return {name}")
        assert [fan.vote(track, v).status_code for v in ("up", "down")] == [200, 200]
        fan.base_url = urls[1]
        third = fan.vote(track, "up")
        assert third.status_code in (200, 429), third.text
        return third.status_code == 429

    assert counted_together()
    private_redis.stop()
    outage = time.monotonic()
    while time.monotonic() - outage < OUTAGE_SECONDS:  # listeners go on voting meanwhile
        assert not counted_together()  # each replica alone: no 500, the limits still hold
        time.sleep(1)
    private_redis.start()
    returned = time.monotonic()
    while not counted_together():
        assert time.monotonic() - returned < 20, "the limits never went back to Redis"
        time.sleep(0.5)
