"""hls.js in headless Chromium plays the station's live stream, across a restart."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

from radiocalico.station import Station
from radiocalico.stream_layout import MASTER_PATH
from tests.conftest import require

from .audiofiles import make_flac

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HLS_JS = ROOT / "node_modules" / "hls.js" / "dist" / "hls.light.min.js"
PAGE = """<!doctype html><html><body><audio id="a" muted></audio>
<script src="hls.light.min.js"></script>
<script>
window.errors = []; window.fatal = null;
const audio = document.getElementById('a');
const hls = new Hls({lowLatencyMode: false});
hls.on(Hls.Events.ERROR, (e, d) => { window.errors.push(d.details); if (d.fatal) window.fatal = d.details; });
hls.loadSource('%(master)s');
hls.attachMedia(audio);
hls.on(Hls.Events.MANIFEST_PARSED, () => audio.play());
window.levelCodec = () => hls.levels.length ? (hls.levels[0].audioCodec || hls.levels[0].codecSet) : null;
</script></body></html>""" % {"master": MASTER_PATH}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


def test_hls_js_plays_the_stream_across_a_restart(tmp_path, browser):
    require(HLS_JS.exists(), "hls.js is missing (npm ci)")

    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 2.5, 48000, 24, seed=1, artist="A", title="One")
    make_flac(lib / "b.flac", 3.0, 44100, 16, seed=2, artist="B", title="Two")
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(HLS_JS, out / HLS_JS.name)
    (out / "index.html").write_text(PAGE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    station = Station(lib, out, segment_seconds=1.0)
    station.start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
        page.wait_for_function("document.getElementById('a').currentTime > 2 || window.fatal", timeout=30000)
        assert page.evaluate("window.fatal") is None, page.evaluate("window.errors")
        # Restart the station: the player keeps going over the discontinuity.
        station.stop()
        time.sleep(1.5)
        station = Station(lib, out, segment_seconds=1.0)
        station.start()
        before = page.evaluate("document.getElementById('a').currentTime")
        page.wait_for_function(
            f"document.getElementById('a').currentTime > {before} + 4 || window.fatal", timeout=40000)
        assert page.evaluate("window.fatal") is None, page.evaluate("window.errors")
        assert not page.evaluate("document.getElementById('a').paused")
    finally:
        page.close()
        station.stop()
        server.shutdown()
