"""Covers addressed by version: each track's own cover over HTTP, cached for good, and the
player (page and lock screen) showing the cover of the track actually heard."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
import requests
from PIL import Image

from radiocalico import stream_layout
from radiocalico.station import Station
from radiocalico.station.cover import render_cover
from radiocalico.station.library import load_cover, scan_library
from tests.station.audiofiles import make_flac, tag_flac
from tests.station.streamutil import parse_pdt, run_station
from tests.web.stack import TONES, Server, make_library
from tests.web.test_player_browser import goto, wait_progress

IMMUTABLE = "public, max-age=31536000, immutable"
COLOURS = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (230, 180, 20), (150, 40, 160), (20, 170, 170),
           (240, 120, 30), (90, 90, 90), (250, 250, 250)]


def art(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), colour).save(out, format="JPEG")
    return out.getvalue()


def rendered_covers(library) -> dict[str, bytes]:
    """Title -> the cover the station renders for that track."""
    return {t.title: render_cover(load_cover(t)) for t in scan_library(library)}


# -- over HTTP ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """A station that played about 16 short tracks, each with a cover of its own colour."""
    root = tmp_path_factory.mktemp("covers")
    lib = root / "lib"
    lib.mkdir()
    for i, colour in enumerate(COLOURS):
        make_flac(lib / f"t{i}.flac", 0.6, 48000, 24, seed=i, artist=f"Artist {i}", title=f"Title {i}",
                  picture=art(colour))
    out = root / "out"
    run_station(Station(lib, out, segment_seconds=0.5, speed=12.0, window=100), segments=20)
    return lib, out


def test_each_listed_track_has_its_own_immutable_cover(played, make_app, make_live_server):
    lib, out = played
    covers = rendered_covers(lib)
    assert len(set(covers.values())) == len(COLOURS)
    server = make_live_server(make_app(station_mode="embedded", station_out=str(out)))
    base = f"{server.url}/stream/"
    meta = requests.get(base + stream_layout.METADATA_PATH, timeout=5).json()
    listed = [(meta["title"], meta["song_id"], meta["started_at"])] + [
        (meta[f"prev_title_{i}"], meta[f"prev_song_id_{i}"], meta[f"prev_started_at_{i}"]) for i in range(1, 6)]
    urls = [meta["cover_url"]] + [meta[f"prev_cover_url_{i}"] for i in range(1, 6)]
    versions = [meta["cover_version"]] + [meta[f"prev_cover_version_{i}"] for i in range(1, 6)]
    assert len(set(versions)) == 6
    for (title, sid, started_at), url, version in zip(listed, urls, versions):
        # A player can name the cover of any listed track from its song id and start.
        assert version == f"{sid}-{round(parse_pdt(started_at) * 1000)}"
        assert url == stream_layout.versioned_cover_path(version)
        response = requests.get(base + url, timeout=5)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.content == covers[title], f"the cover at {url} is not {title}'s"
    # cover.jpg stays what it always was: the current track's, revalidated.
    cover = requests.get(base + stream_layout.COVER_PATH, timeout=5)
    assert cover.content == covers[meta["title"]] and cover.headers["Cache-Control"] == "no-cache"
    # Older covers stay for as many track changes more (a player may be fetching one), then go.
    on_disk = sorted(p.stem for p in stream_layout.covers_dir(out).glob("*.jpg"))
    assert set(versions) <= set(on_disk) and len(on_disk) == 12
    missing = requests.get(base + stream_layout.versioned_cover_path("0" * 32 + "-1"), timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


# -- in Chromium -----------------------------------------------------------------------------

# The title, the cover and the lock screen's artwork on show, each time one changes.
RECORD = """
window.__shown = [];
setInterval(() => {
  const title = document.getElementById('track-title');
  const cover = document.getElementById('cover');
  if (!title || !cover) return;
  const artwork = navigator.mediaSession?.metadata?.artwork?.[0]?.src ?? null;
  const now = {title: title.textContent, cover: cover.src, artwork,
               playing: !document.getElementById('audio').paused};
  const last = window.__shown.at(-1);
  if (!last || last.title !== now.title || last.cover !== now.cover || last.artwork !== now.artwork
      || last.playing !== now.playing) window.__shown.push(now);
}, 20);
"""

DIGEST = """async (url) => {
  const response = await fetch(url);
  const bytes = await crypto.subtle.digest('SHA-256', await response.arrayBuffer());
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}"""


@pytest.fixture(scope="module")
def covered_server(tmp_path_factory):
    """The real stack playing tones that each have a cover of their own (2 s segments: a
    listener hears a change about three segments after it is published)."""
    from tests.conftest import require_chromium

    require_chromium()
    root = tmp_path_factory.mktemp("covered")
    library = make_library(root / "library", seconds=12.0)
    for path, colour in zip(sorted(library.glob("*.flac")), COLOURS):
        tone = next(t for t in TONES if t.title in path.name)
        tag_flac(path, tone.artist, tone.title, tone.album, tone.year, picture=art(colour))
    server = Server(root / "instance", library, segment_seconds=2.0)
    server.start()
    yield server, library
    server.stop()


@pytest.mark.browser
def test_play_just_after_a_change_shows_the_cover_of_the_title_heard(context, console, covered_server):
    """Press Play within seconds of a track change: the previous track is heard and shown
    first, with its own cover on the page and on the lock screen, then the new one with its."""
    server, library = covered_server
    expected = {title: hashlib.sha256(jpeg).hexdigest() for title, jpeg in rendered_covers(library).items()}
    page = context.new_page()
    console.attach(page)
    page.set_default_timeout(15000)
    page.add_init_script(RECORD)

    def metadata():
        return requests.get(f"{server.url}/stream/{stream_layout.METADATA_PATH}", timeout=2).json()

    before = metadata()["title"]
    deadline = time.monotonic() + 30
    while (meta := metadata())["title"] == before:
        assert time.monotonic() < deadline, "the station did not change tracks"
        time.sleep(0.1)
    old, new = meta["prev_title_1"], meta["title"]
    goto(page, server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#play")
    wait_progress(page, 0.5)
    page.wait_for_function(f"() => document.getElementById('track-title').textContent.startsWith({new!r})",
                           timeout=30000)
    time.sleep(1.0)
    shown = [s for s in page.evaluate("() => window.__shown") if s["playing"] and s["artwork"]]
    titles = [s["title"].split(" (")[0] for s in shown]
    assert titles[0] == old, f"the previous track was not heard first: {titles}"
    assert titles[-1] == new
    for s, title in zip(shown, titles):
        assert page.evaluate(DIGEST, s["cover"]) == expected[title], f"the page shows another cover with {title}"
        assert page.evaluate(DIGEST, s["artwork"]) == expected[title], f"the lock screen shows another cover with {title}"
    assert console.unexpected() == []
