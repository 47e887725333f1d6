"""Blocking playlist reload (RFC 8216bis 6.2.5.2) over a real socket: production's ASGI
server under granian, and the dev server's /stream/ route, against a running station."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from werkzeug.serving import make_server

from radiocalico import stream_layout
from radiocalico.station import Station
from radiocalico.stream_server import blocking
from tests.station.audiofiles import make_flac
from tests.station.streamutil import wait_for

SEG = 0.5  # target duration 1 s: a request that cannot be met is refused after 3 s
PART = 1 / 6
NAME = stream_layout.media_playlist_name("high")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 10.0) -> tuple[int, str, float]:
    """(status, body, seconds taken)."""
    began = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("latin-1"), time.monotonic() - began
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("latin-1"), time.monotonic() - began


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blocking")
    lib = tmp / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 2.0, 48000, 24, seed=5)
    out = tmp / "out"
    station = Station(lib, out, segment_seconds=SEG, part_seconds=PART, renditions=("lossless", "high"))
    station.start()
    yield station, out
    station.stop()


@pytest.fixture(scope="module")
def granian_url(station):
    _station, out = station
    port = free_port()
    env = dict(os.environ, STATION_OUT=str(out))
    proc = subprocess.Popen([sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws",
                             "radiocalico.stream_server:create_app"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up():
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 20)
        yield f"http://127.0.0.1:{port}/stream/hls/{NAME}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def dev_url(station, make_module_app):
    _station, out = station
    app = make_module_app(station_mode="embedded", station_out=str(out))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/stream/hls/{NAME}"
    server.shutdown()


@pytest.fixture(scope="module")
def make_module_app(tmp_path_factory):
    from radiocalico import create_app
    from radiocalico.config import Config
    from radiocalico.db import upgrade
    from radiocalico.services import services

    apps = []

    def make(**overrides):
        instance = tmp_path_factory.mktemp("instance")
        config = Config(instance_path=instance, database_url=f"sqlite:///{instance}/db.sqlite3",
                        secret_key="test-secret-key-" + "0123456789abcdef" * 2, history_poll_seconds=0,
                        **overrides)
        app = create_app(config)
        upgrade(services(app).store.engine)
        apps.append(app)
        return app

    yield make
    for app in apps:
        services(app).close()


@pytest.fixture(params=["granian", "dev"])
def url(request):
    return request.getfixturevalue("granian_url" if request.param == "granian" else "dev_url")


def where(text: str) -> blocking.Position:
    at = blocking.position(text)
    assert at is not None
    return at


def test_a_request_for_the_next_part_waits_for_it(url):
    status, text, _ = get(url)
    assert status == 200
    at = where(text)
    # The part after the next one (3 parts a segment): at least a part's length away.
    ahead = (at.last_msn + 1) * 3 + at.open_parts + 1
    msn, part = divmod(ahead, 3)
    status, text, took = get(f"{url}?_HLS_msn={msn}&_HLS_part={part}")
    assert status == 200
    now = where(text)
    assert blocking.holds(now, blocking.Want(msn, part))
    assert not blocking.holds(at, blocking.Want(msn, part))
    assert took > 0.05  # it waited for the part ...
    assert took < 1.0  # ... which comes within two parts' length (1/3 s), with slack for a busy machine
    uri = re.findall(r'#EXT-X-PART:[^\n]*URI="([^"]+)"', text)[-1]
    assert get(url.rsplit("/", 1)[0] + "/" + uri)[0] == 200


def test_a_request_for_a_whole_segment_waits_for_it(url):
    at = where(get(url)[1])
    status, text, took = get(f"{url}?_HLS_msn={at.last_msn + 1}")
    assert status == 200 and where(text).last_msn >= at.last_msn + 1


def test_a_request_already_met_is_answered_at_once(url):
    at = where(get(url)[1])
    status, _text, took = get(f"{url}?_HLS_msn={at.last_msn}&_HLS_part=0")
    assert status == 200 and took < 0.5


@pytest.mark.parametrize("query", ["_HLS_part=1", "_HLS_msn=-1", "_HLS_msn=x&_HLS_part=0",
                                   "_HLS_msn=5&_HLS_part=1.5"])
def test_malformed_requests_are_400(url, query):
    status, body, took = get(f"{url}?{query}")
    assert status == 400 and '"bad_request"' in body and took < 0.5


def test_a_request_too_far_ahead_is_400_at_once(url):
    at = where(get(url)[1])
    status, body, took = get(f"{url}?_HLS_msn={at.last_msn + 3}")
    assert status == 400 and took < 0.5 and "more than two segments" in body


def test_the_advance_part_limit():
    """With the default 2 s segments of four 0.512 s parts, a part more than 3 / 0.512 =
    5.9 parts past the last published one is refused; one within it waits."""
    at = blocking.Position(last_msn=10, last_parts=4, open_parts=1, target_duration=2, part_target=0.512)
    blocking.check_reachable(at, blocking.Want(12, 1))  # 8 + 1 - 4 = 5 parts ahead
    with pytest.raises(blocking.BadRequest):
        blocking.check_reachable(at, blocking.Want(12, 2))  # 6 ahead
    assert blocking.holds(at, blocking.Want(11, 0)) and not blocking.holds(at, blocking.Want(11, 1))
    assert blocking.holds(at, blocking.Want(10, 7))  # past the last part: part 0 of the next segment


def test_a_request_the_station_never_meets_is_503(url, station):
    """A playlist that stops changing (a stalled station) answers 503 after three target
    durations."""
    at = where(get(url)[1])
    hls = stream_layout.hls_dir(station[1])
    frozen = hls / stream_layout.media_playlist_name("saver")
    frozen.write_text((hls / NAME).read_text())
    try:
        status, body, took = get(url.rsplit("/", 1)[0] + f"/{frozen.name}?_HLS_msn={at.last_msn + 2}")
        assert status == 503 and '"not_yet"' in body
        assert 2.5 < took < 6
    finally:
        frozen.unlink()


def test_a_hinted_part_is_answered_once_written(url):
    """A player may ask for the preload-hinted part before it exists: the answer waits for it
    (a part is made every 1/6 s here), then the part's bytes."""
    for _ in range(3):
        text = get(url)[1]
        hint = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"', text).group(1)
        status, body, took = get(url.rsplit("/", 1)[0] + "/" + hint)
        assert status == 200 and body[4:8] == "styp"
        assert took < 1.0
