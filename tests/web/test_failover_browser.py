"""The listener's page fails over between redundant origins: the station lists every
rendition once per origin (STATION_ORIGINS), nginx serves the page and both origins, and
origin a then stops the way a killed station does (its files stay served, never changing
again: the playlist freezes, the part it announced never comes). The page, playing High as
the listener chose, goes on from origin b without a stall longer than 2 s, still High
(hls.js itself, failing over, lets go of the chosen level and goes to the Data saver copy
listed before b's High); the listener then picks Lossless, which comes from origin b too,
and the page names each rendition as it is heard. The title and cover follow to origin b too:
the track the station plays next shows as it is heard, though origin a, stopped, never
named it."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import require
from tests.deploy.topology import NGINX
from tests.station.test_standby import start_nginx
from tests.web.stack import Server, free_port
from tests.web.test_player_browser import PROBE, changes, current_time, heard_changes, open_player, wait_progress
from tests.web.test_quality_browser import HIGH_SEGMENT, LOSSLESS_SEGMENT, wait_shown

pytestmark = [pytest.mark.browser]

HIGH_LABEL = "High · AAC 256 kbit/s"
LOSSLESS_LABEL = "Lossless · FLAC 48 kHz / 24-bit"
ORIGINS = ("a", "b")
MEDIA = re.compile(r"/(?P<origin>[ab])/hls/[^?]*\.m4s")
METADATA = re.compile(r"/(?P<origin>[ab])/metadatav2\.json")
COVER = re.compile(r"/(?P<origin>[ab])/(cover\.jpg|covers/)")
WATCH_AFTER_STOP_S = 10.0
FAILOVER_WAIT_S = 8.0

# Samples the page every 50 ms: stalls (playing, the playhead not moving), the quality
# label and the status line as they change.
WATCH = """() => {
  const w = window.__watch = { stalls: [], labels: [], statuses: [], stalledFor: 0 };
  let last = -1, since = null;
  setInterval(() => {
    const audio = document.getElementById('audio');
    const now = performance.now();
    if (!audio.paused && audio.currentTime === last) since ??= now;
    else if (since !== null) { w.stalls.push(now - since); since = null; }
    last = audio.currentTime;
    w.stalledFor = since === null ? 0 : now - since;
    const label = document.getElementById('stream-quality').textContent;
    if (w.labels.at(-1) !== label) w.labels.push(label);
    const status = document.getElementById('status').textContent;
    if (status && w.statuses.at(-1) !== status) w.statuses.push(status);
  }, 50);
}"""


def stop_origin(served: Path, name: str) -> None:
    """Origin `name` as a killed station leaves it: what it had written, served unchanged.
    Its files are hard-linked as they are (the station replaces files, never rewrites them),
    then its folder's link is swapped for the copy in one rename."""
    out = (served / name).resolve()

    def link(source, target):
        try:
            os.link(source, target)
        except FileNotFoundError:  # a segment retired meanwhile
            pass

    stopped = served / f"{name}-stopped"
    shutil.copytree(out, stopped, copy_function=link)
    swap = served / f".{name}"
    swap.symlink_to(stopped, target_is_directory=True)
    os.replace(swap, served / name)


@contextmanager
def two_origins(tmp_path: Path, library: Path):
    """One station behind nginx as origins /a/ and /b/, the page and API at /; yields
    (site URL, the folder holding a and b)."""
    require(shutil.which(NGINX) is not None or os.path.exists(NGINX), "nginx is not installed")
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    server = Server(tmp_path / "instance", library, extra_env={
        "STATION_ORIGINS": ",".join(f"{site}/{name}/" for name in ORIGINS),
        "STREAM_BASE_URL": "/a",  # the page's stream, metadata and cover: origin a's
    })
    served = tmp_path / "served"
    served.mkdir()
    for name in ORIGINS:  # one station's folder, as two epoch-locked stations write alike
        (served / name).symlink_to(server.instance / "stream", target_is_directory=True)
    server.start()
    nginx = start_nginx(tmp_path, port, {name: served / name for name in ORIGINS},
                        f"location / {{ proxy_pass {server.url}; }}\n")
    try:
        yield site, served
    finally:
        nginx.terminate()
        nginx.wait(5)
        server.stop()


def wait_for_b(page, media: list, since: float) -> None:
    """Until a media request went to origin b, at most FAILOVER_WAIT_S after `since`.
    (Waits in the page, not sleeps: a sleep holds Playwright's request events back.)"""
    while not any(origin == "b" for _, origin, _ in media) and time.monotonic() - since < FAILOVER_WAIT_S:
        page.wait_for_timeout(100)


def test_the_page_plays_on_from_the_other_origin_when_one_stops(tmp_path, tone_library, context, console):
    with two_origins(tmp_path, tone_library) as (site, served):
        page = context.new_page()
        console.attach(page)
        console.allow_network_noise = True  # origin a's announced part, never written: 404
        page.set_default_timeout(15000)
        media: list[tuple[float, str, str]] = []  # (time.monotonic(), origin, URL) of each request

        def on_request(request):
            if match := MEDIA.search(request.url):
                media.append((time.monotonic(), match["origin"], request.url))

        page.on("request", on_request)
        page.add_init_script("localStorage.setItem('radiocalico.quality', 'high')")  # chosen on a past visit
        open_player(page, SimpleNamespace(url=site))
        wait_shown(page, HIGH_LABEL)
        wait_progress(page, 3.0)
        page.evaluate(WATCH)
        assert {origin for _, origin, _ in media} == {"a"}, media

        stopped_at = time.monotonic()
        played_at_stop = current_time(page)
        stop_origin(served, "a")
        wait_for_b(page, media, stopped_at)
        chosen_at = time.monotonic()
        page.select_option("#quality-choice", "lossless")
        page.wait_for_timeout((WATCH_AFTER_STOP_S - (chosen_at - stopped_at)) * 1000)
        elapsed = time.monotonic() - stopped_at
        watch = page.evaluate("() => window.__watch")
        played = current_time(page) - played_at_stop
        paused = page.evaluate("() => document.getElementById('audio').paused")
        page.close()

    origins = [origin for k, (_, origin, _) in enumerate(media) if k == 0 or media[k - 1][1] != origin]
    from_b = [at for at, origin, _ in media if origin == "b"]
    longest_stall = max(watch["stalls"] + [watch["stalledFor"]])
    print(f"failover: first media from b {from_b[0] - stopped_at if from_b else float('nan'):.2f} s after "
          f"origin a stopped; longest stall {longest_stall:.0f} ms; played {played:.2f} s in {elapsed:.2f} s; "
          f"labels {watch['labels']}; statuses {watch['statuses']}")
    timeline = [(round(at - stopped_at, 2), url) for at, _, url in media]
    # From origin b once a stopped, and only from b after, Lossless included.
    assert origins == ["a", "b"], timeline
    # The music went on: no stall over 2 s, nothing lost but that.
    assert not paused and longest_stall <= 2000, watch
    assert played >= elapsed - 2.0, (played, elapsed)
    # High until Lossless was chosen, then Lossless, and the page said so.
    before = [url for at, _, url in media if at < chosen_at]
    after = [url for at, _, url in media if at >= chosen_at]
    assert before and all(HIGH_SEGMENT.search(url) for url in before), timeline
    switched = next((k for k, url in enumerate(after) if LOSSLESS_SEGMENT.search(url)), len(after))
    assert after[switched:] and all(LOSSLESS_SEGMENT.search(url) for url in after[switched:]), timeline
    assert watch["labels"] == [HIGH_LABEL, LOSSLESS_LABEL], watch
    assert not [s for s in watch["statuses"] if "Reconnecting" in s], watch
    assert console.unexpected() == [], console.errors


TITLE_LAG_S = 2.0  # the title may switch this long before or after the new track is heard
TRACK_WAIT_S = 45.0  # for a track origin a never named: the tones last 15 s


def origins_in_order(requests: list[str], pattern: re.Pattern) -> list[str]:
    """The origins `requests` went to, each run of one origin once: ["a", "b"] for a move."""
    out: list[str] = []
    for url in requests:
        if (match := pattern.search(url)) and (not out or out[-1] != match["origin"]):
            out.append(match["origin"])
    return out


def test_the_title_and_cover_follow_to_the_other_origin_when_one_stops(tmp_path, tone_library, context, console):
    with two_origins(tmp_path, tone_library) as (site, served):
        page = context.new_page()
        console.attach(page)
        console.allow_network_noise = True  # origin a's announced part, never written: 404
        page.set_default_timeout(15000)
        media: list[tuple[float, str, str]] = []
        asked: list[str] = []  # the metadata and cover requests, in order

        def on_request(request):
            if match := MEDIA.search(request.url):
                media.append((time.monotonic(), match["origin"], request.url))
            elif METADATA.search(request.url) or COVER.search(request.url):
                asked.append(request.url)

        page.on("request", on_request)
        open_player(page, SimpleNamespace(url=site))
        wait_progress(page, 3.0)
        page.evaluate(PROBE)  # the tone heard and the title shown, every 25 ms

        stopped_at = time.monotonic()
        stopped_in_page = page.evaluate("() => performance.now()")
        stop_origin(served, "a")
        last_known = json.loads((served / "a-stopped" / "metadatav2.json").read_text())["title"]
        wait_for_b(page, media, stopped_at)
        asked_before_b = len(asked)

        # Until a track origin a never named is heard, and the title has had time to follow.
        target, samples = None, []
        while time.monotonic() - stopped_at < TRACK_WAIT_S:
            page.wait_for_timeout(500)
            samples = page.evaluate("() => window.__samples")
            new = [(t, title) for t, title in heard_changes(samples) if t > stopped_in_page and title != last_known]
            if new and samples[-1]["t"] - new[0][0] > (TITLE_LAG_S + 1) * 1000:
                target = new[0]
                break
        cover = page.get_attribute("#cover", "src")
        page.close()

    shown = changes([(s["t"], s["title"].split(" (")[0]) for s in samples])
    heard = heard_changes(samples)
    metadata_origins = origins_in_order(asked, METADATA)
    print(f"failover: origin a last named {last_known!r}; heard after the stop "
          f"{[(round((t - stopped_in_page) / 1000, 2), title) for t, title in heard if t > stopped_in_page]}; "
          f"shown {[(round((t - stopped_in_page) / 1000, 2), title) for t, title in shown if t > stopped_in_page]}; "
          f"metadata from {metadata_origins}; cover {cover}")
    assert any(origin == "b" for _, origin, _ in media), "the page never failed over to origin b"
    assert target is not None, f"no new track heard within {TRACK_WAIT_S} s: heard {heard}"
    at, title = target
    lag = [(t - at) / 1000 for t, shown_title in shown if shown_title == title]
    assert lag and min(abs(x) for x in lag) <= TITLE_LAG_S, f"{title!r} heard, shown {shown}"
    # The metadata and the cover asked of origin b once the page plays from it, never of a again.
    assert metadata_origins == ["a", "b"], asked
    assert all(COVER.search(url)["origin"] == "b" for url in asked[asked_before_b:] if COVER.search(url)), asked
    assert cover and COVER.search(cover) and COVER.search(cover)["origin"] == "b", cover
    assert console.unexpected() == [], console.errors
