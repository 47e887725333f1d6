"""nginx's own error answers through the production edge (tests/deploy/topology.py): under
/api the app's JSON error shape, elsewhere a page (for 502/503/504, the app down, one that
tries again by itself); and the edge's way to the app as a template variable that a
Docker deployment points at a name its DNS resolves again."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from click.testing import CliRunner

from radiocalico.cli import main as cli
from tests.api.test_users import Account
from tests.deploy.topology import NGINX, Topology, render_nginx
from tests.station.audiofiles import make_flac

SONG = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


LIBRARY = Path(tempfile.mkdtemp(prefix="radiocalico-edge-library-"))


@pytest.fixture(scope="module")
def edge(tmp_path_factory, nginx_binary, deploy_schema_url, redis_url):
    """nginx + one app replica of its own (a test stops it), no station; the console's
    uploads go to LIBRARY."""
    topo = Topology(tmp_path_factory.mktemp("edge-errors"), deploy_schema_url, redis_url,
                    replicas=1, workers=1, station=False,
                    app_env={"EMBED_ORIGINS": "https://partner.example",
                             "STATION_LIBRARY": str(LIBRARY)}).start()
    yield topo
    topo.stop()


def assert_api_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "code", "message", "fields"}
    assert body["error"]["status"] == status and body["error"]["code"] == code
    assert body["error"]["message"] and body["error"]["fields"] == []
    assert "nginx" not in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_an_oversized_body_is_a_json_413(edge):
    http = edge.session()
    response = http.put(f"{edge.url}/api/ratings/{SONG}/vote", data=b"{" + b" " * 64 * 1024 + b"}",
                        headers={"Content-Type": "application/json"}, timeout=10)
    assert_api_error(response, 413, "payload_too_large")


def test_an_operators_upload_through_the_edge_reaches_the_library(edge, tmp_path):
    """Bodies over 32 KiB are refused by nginx elsewhere; a track uploaded from the console
    (megabytes) passes to the app, which validates it and adds it to the library, and a
    signed-out upload gets the app's JSON refusal, not nginx's 413."""
    stranger = edge.session().post(f"{edge.url}/api/console/library", params={"name": "x.flac"},
                                   data=b"fLaC" + b"\0" * 256 * 1024,
                                   headers={"Content-Type": "application/octet-stream"}, timeout=20)
    assert stranger.status_code in (401, 403), stranger.text[:300]
    assert stranger.headers["Content-Type"] == "application/json"

    olive = Account(edge.url)
    olive.http = edge.session()
    assert olive.register("olive", "olive@example.org").status_code == 201
    granted = CliRunner().invoke(cli, ["user", "grant-operator", "olive@example.org"],
                                 env={"DATABASE_URL": edge.database_url})
    assert granted.exit_code == 0, granted.output
    track = tmp_path / "upload.flac"
    make_flac(track, 4.0, seed=3, artist="Edge Artist", title="Through nginx")
    assert track.stat().st_size > 64 * 1024
    answer = olive.request("POST", "/api/console/library", params={"name": "Through nginx.flac"},
                           data=track.read_bytes(), headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 201, answer.text[:300]
    assert (LIBRARY / "uploads" / "Through nginx.flac").read_bytes() == track.read_bytes()


def test_a_header_too_large_is_a_json_400(edge):
    response = edge.session().get(f"{edge.url}/api/config", headers={"Cookie": "x=" + "a" * 20000},
                                  timeout=10)
    assert_api_error(response, 400, "bad_request")


def test_a_method_nginx_refuses_outside_the_api_is_a_page(edge):
    (edge.stream_out / "metadatav2.json").write_text("{}")
    response = edge.session().post(f"{edge.url}/stream/metadatav2.json", data=b"x", timeout=10)
    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("text/html")
    assert "nginx" not in response.text and "RadioCalico" in response.text


def test_the_app_down_is_json_for_the_api_and_a_page_for_the_player(edge):
    http = edge.session()
    assert http.get(f"{edge.url}/api/config", timeout=10).status_code == 200
    edge.apps[0].stop()
    try:
        for path in ("/api/config", "/api/ratings?ids=" + SONG, "/health"):
            response = http.get(edge.url + path, timeout=15)
            if path.startswith("/api"):
                assert_api_error(response, 502, "bad_gateway")
                assert int(response.headers["Retry-After"]) > 0
            else:
                assert response.status_code == 502
                assert response.headers["Content-Type"].startswith("text/html")
        page = http.get(edge.url + "/", timeout=15)
        assert page.status_code == 502
        assert page.headers["Content-Type"].startswith("text/html")
        assert "RadioCalico will be right back" in page.text
        assert '<meta http-equiv="refresh"' in page.text and "nginx" not in page.text
        assert "Content-Security-Policy" in page.headers
    finally:
        edge.start_app(0)
    assert http.get(f"{edge.url}/api/config", timeout=10).status_code == 200


def test_the_app_can_be_a_name_resolved_while_nginx_runs(edge, tmp_path):
    """Docker's values: nginx starts (and checks) without resolving `app`; requests then ask
    the resolver (docker-compose.prod.yml: Docker's DNS, every 10 s)."""
    values = dict(edge.nginx_settings(), NGINX_APP_UPSTREAM="app.invalid:8000",
                  NGINX_RESOLVER="resolver 127.0.0.11 valid=10s ipv6=off;")
    conf = render_nginx(tmp_path / "conf", values)
    text = (tmp_path / "conf" / "nginx.conf").read_text()
    assert 'default "app.invalid:8000";' in text and "resolver 127.0.0.11 valid=10s" in text
    check = subprocess.run([NGINX, "-t", "-p", f"{tmp_path}/", "-e", str(tmp_path / "error.log"),
                            "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def _raw(edge, request: bytes, tls: bool = True) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as it is (no client library would) and read the whole answer."""
    port = edge.https_port if tls else edge.http_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        conn = plain
        if tls:
            conn = ssl.create_default_context(cafile=str(edge.cert)).wrap_socket(
                plain, server_hostname="127.0.0.1")
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("request_bytes, status, code", [
    (b"GARBAGE\r\n\r\n", 400, "bad_request"),
    (b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /api/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
    (b"GET / HTTP/2.5\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
], ids=["garbage", "nul", "api-nul", "uri-too-long", "transfer-encoding", "http-2.5"])
@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_a_request_nginx_cannot_parse_is_a_json_error(edge, request_bytes, status, code, tls):
    """Issue 21: an unparsable request line or %00 was a 500 page (nginx's error redirect to
    a named location failed on the empty URI); 414, 501 and 505 were nginx's HTML."""
    got, headers, body = _raw(edge, request_bytes, tls)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert (error["status"], error["code"], error["fields"]) == (status, code, [])
    assert b"nginx" not in body


def test_the_embed_card_can_be_framed_where_embed_origins_allow(edge):
    """Issue 21: /embed carried X-Frame-Options: DENY beside a frame-ancestors naming the
    sites of EMBED_ORIGINS; browsers honouring only XFO refused to show it."""
    http = edge.session()
    card = http.get(f"{edge.url}/embed", timeout=10)
    assert card.status_code == 200
    policy = card.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://partner.example" in policy
    assert "X-Frame-Options" not in card.headers
    page = http.get(f"{edge.url}/", timeout=10)
    assert page.headers["X-Frame-Options"] == "DENY"
