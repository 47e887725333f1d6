"""The embed: framed by an allowed site and refused by another (CSP frame-ancestors), no
cookies, only our origin; its "N listening" rises with two HLS clients and falls after the
window."""

from __future__ import annotations

import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from radiocalico import stream_layout
from tests.conftest import LiveServer
from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]


class _HostPage(BaseHTTPRequestHandler):
    """Another site: one page that frames our embed."""

    def __init__(self, embed_url: str, *args, **kwargs):
        self.embed_url = embed_url
        super().__init__(*args, **kwargs)

    def do_GET(self):
        body = (f'<!doctype html><title>host</title>'
                f'<iframe id="radio" src="{self.embed_url}" width="400" height="130"></iframe>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HostSite:
    def __init__(self):
        self.embed_url = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(self._handler))
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self, *args, **kwargs):
        return _HostPage(self.embed_url, *args, **kwargs)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def sites():
    allowed, other = HostSite(), HostSite()
    yield allowed, other
    allowed.close()
    other.close()


@pytest.fixture
def embed_server(make_app, tmp_path, sites):
    hls = tmp_path / "stream" / stream_layout.HLS_DIR
    hls.mkdir(parents=True)
    (hls / stream_layout.MASTER_NAME).write_text("#EXTM3U\n")
    (hls / stream_layout.media_playlist_name("flac")).write_text("#EXTM3U\n")
    app = make_app(station_mode="embedded", station_out=str(tmp_path / "stream"),
                   embed_origins=(sites[0].origin,), stream_listener_window_seconds=6,
                   history_poll_seconds=0)
    with LiveServer(app) as server:
        for site in sites:
            site.embed_url = f"{server.url}/embed?theme=dark"
        yield server


def test_the_embed_renders_on_an_allowed_site_and_is_refused_on_another(browser, embed_server, sites):
    allowed, other = sites
    context = browser.new_context()
    page = context.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    goto(page, allowed.origin + "/")
    frame = page.frame_locator("#radio")
    frame.locator("body[data-ready=true]").wait_for(timeout=20000)
    assert frame.locator("#title").inner_text() == "Tuning in…"
    assert frame.locator("body").get_attribute("class") == "theme-dark"
    embed_requests = [u for u in requested if not u.startswith(allowed.origin)]
    assert embed_requests and all(u.startswith(embed_server.url) for u in embed_requests)
    assert context.cookies(embed_server.url) == []

    # Two HLS clients (say VLC and Safari) fetch the playlists: the card says 2 listening.
    media = f"{embed_server.url}/stream/{stream_layout.HLS_DIR}/{stream_layout.media_playlist_name('flac')}"
    for agent in ("VLC/3.0.20 LibVLC/3.0.20", "AppleCoreMedia/1.0.0.21A329 (iPhone)"):
        assert requests.get(media, headers={"User-Agent": agent}).status_code == 200
    frame.locator("#listeners", has_text="2 listening").wait_for(timeout=20000)
    # Nobody fetches again: after the window they are gone.
    frame.locator("#listeners", has_text="0 listening").wait_for(timeout=30000)

    refused = context.new_page()
    refusals = []
    refused.on("console", lambda m: "frame-ancestors" in m.text and refusals.append(m.text))
    goto(refused, other.origin + "/")
    refused.wait_for_load_state("load")
    (child,) = refused.main_frame.child_frames
    assert child.locator("#title").count() == 0  # Chromium's error page, not our card
    assert refusals, "Chromium did not report the frame-ancestors refusal"
    context.close()


def test_the_embed_policy_names_the_allowed_sites(embed_server, sites):
    response = requests.get(f"{embed_server.url}/embed")
    policy = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {sites[0].origin}" in policy
    assert sites[1].origin not in policy
    assert "Set-Cookie" not in response.headers
    assert requests.get(f"{embed_server.url}/embed", params={"theme": "<x>"}).text.count("theme-light") == 1
