"""The operator console in Chromium against the real stack (`radiocalico serve`, one server
for the module): a visitor is asked to sign in; an operator uploads a good and a bad file
(the refusal is shown), reorders the queue and skips (the skip heard in the decoded stream
within one segment, and the track moved to the top is the one that follows), edits the
schedule and sees "Up next" change; a listener account gets 403 on every console page and
API operation."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
import requests
from playwright.sync_api import expect

from tests.station.audiofiles import make_flac
from tests.station.streamutil import MEDIA_NAME, decode_bytes, parse_media_playlist, playlist_edge, wait_for
from tests.web.stack import RADIOCALICO, Server, Tone, make_library
from tests.web.test_player_browser import run_axe

SEG = 1.0
PASSWORD = "correct horse battery staple 42"
EXTRA = Tone("Calico Specials", "Special Tone", "Specials", "2025", 880.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    library = make_library(tmp_path_factory.mktemp("console-library"), seconds=60.0)
    make_library(library / "special", seconds=60.0, tones=(EXTRA,))
    instance = tmp_path_factory.mktemp("console-instance")
    stack = Server(instance, library, segment_seconds=SEG, extra_env={
        "STATION_RENDITIONS": "lossless", "STATION_LIVE_PORT": "0", "HISTORY_POLL_SECONDS": "0.5",
        "CONSOLE_UPLOAD_MAX_MB": "4"})
    stack.start()
    yield stack
    stack.stop()


def _register(base: str, http, name: str) -> None:
    answer = http.post(f"{base}/api/users", data={"username": name, "email": f"{name}@example.org",
                                                  "password": PASSWORD})
    assert answer.status == 201, answer.text()


@pytest.fixture(scope="module")
def operator(server, browser):
    """A signed-out browser context; the account exists and holds the operator role."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    _register(server.url, context.request, "olive")
    csrf = context.request.get(f"{server.url}/api/users/me").json()["csrf_token"]
    assert context.request.delete(f"{server.url}/api/users/session", headers={"X-CSRF-Token": csrf}).ok
    granted = subprocess.run([str(RADIOCALICO), "user", "grant-operator", "olive@example.org"],
                             env=server.env, capture_output=True, text=True, timeout=60)
    assert granted.returncode == 0, granted.stderr
    yield context
    context.close()


@pytest.fixture(scope="module")
def console_page(operator, server):
    page = operator.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # (Refusals the page shows: 401 to a signed-out visitor's GET /api/users/me, 422 to a bad
    # upload, are logged by Chromium as failed loads.)
    page.on("console", lambda m: m.type == "error" and "the server responded with a status of 4" not in m.text
            and errors.append(m.text))
    page.on("request", lambda r: r.url.startswith(server.url) or errors.append(f"left our origin: {r.url}"))
    yield page
    assert errors == [], errors


def test_a_visitor_signs_in_and_gets_the_console(console_page, server):
    page = console_page
    page.goto(f"{server.url}/console")
    page.get_by_role("heading", name="Sign in to the console").wait_for()
    assert run_axe(page) == []
    page.get_by_label("E-mail or user name").fill("olive@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#who-name").inner_text() == "olive"
    for heading in ("On air", "Library", "Playlists and schedule", "Requests", "Listeners", "Audit log"):
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
    page.wait_for_selector("#queue li")
    page.wait_for_selector("#listeners-chart svg")
    page.wait_for_selector("#library-rows tr")
    assert run_axe(page) == []


def test_upload_a_good_and_a_bad_file(console_page, tmp_path):
    page = console_page
    good = tmp_path / "Fresh Upload.flac"
    make_flac(good, 2.0, seed=7, artist="Uploaded Band", title="Fresh Upload")
    page.set_input_files("#upload-file", str(good))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-ok")).to_contain_text("Added")
    assert "Uploaded Band – Fresh Upload (uploads/Fresh Upload.flac)" in page.locator("#upload-ok").inner_text()
    page.locator("#library-rows tr", has_text="Fresh Upload").wait_for()
    # Its tags edited from the keyboard: the dialog opens on the first field.
    page.get_by_role("button", name="Edit the tags of Uploaded Band – Fresh Upload").press("Enter")
    expect(page.get_by_label("Artist", exact=True)).to_be_focused()
    page.get_by_label("Title", exact=True).fill("Fresher Upload")
    page.get_by_label("Genre", exact=True).fill("Ambient")
    page.get_by_role("button", name="Save", exact=True).press("Enter")
    page.locator("#library-rows tr", has_text="Fresher Upload").wait_for()
    assert "Ambient" in page.locator("#library-rows tr", has_text="Fresher Upload").inner_text()

    bad = tmp_path / "Not Really.flac"
    bad.write_bytes(b"fLaC" + b"this is a text file, not audio\n" * 200)
    page.set_input_files("#upload-file", str(bad))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-error")).not_to_be_empty()
    assert page.locator("#upload-error").inner_text() == \
        "“Not Really.flac” is not audio the station can play: it could not be decoded."
    assert page.locator("#library-rows tr", has_text="Not Really").count() == 0

    huge = tmp_path / "huge.wav"
    huge.write_bytes(b"\0" * (5 * 1024 * 1024))
    page.set_input_files("#upload-file", str(huge))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-error")).to_contain_text("largest")
    assert page.locator("#upload-error").inner_text() == "“huge.wav” is 5 MB; the largest upload is 4 MB."
    page.locator("#audit-rows tr", has_text="library.upload").first.wait_for()


def _queue(page) -> list[str]:
    return [t.split("\n")[0] for t in page.locator("#queue li .queue__what").all_inner_texts()]


def _stream(base: str, tmp: Path):
    text = requests.get(f"{base}/stream/hls/{MEDIA_NAME}", timeout=10).text
    playlist = parse_media_playlist(text)
    init = requests.get(f"{base}/stream/hls/{playlist.entries[0].map_uri}", timeout=10).content
    body = b"".join(requests.get(f"{base}/stream/hls/{e.uri}", timeout=10).content for e in playlist.entries)
    pcm, rate = decode_bytes(init + body, tmp)
    assert rate == 48000
    return pcm, playlist


def test_reorder_then_skip_heard_within_one_segment(console_page, server, tmp_path):
    page = console_page
    expect(page.locator("#queue li").nth(2)).to_be_visible()
    before = _queue(page)
    second = before[1]
    # (A small library's queue can hold a song twice: the first of its buttons is place 2's.)
    page.get_by_role("button", name=f"Move up {second}").first.click()
    wait_for(lambda: _queue(page)[0] == second, timeout=20)
    assert page.locator("#toast").inner_text().startswith(f"Moved {second} to place 1")

    playing = page.locator("#current").inner_text()
    skip = page.get_by_role("button", name="Skip now")
    skip.focus()
    # The live edge as the click is made: what a listener there hears at that moment.
    asked = playlist_edge(requests.get(f"{server.url}/stream/hls/{MEDIA_NAME}", timeout=10).text)
    page.keyboard.press("Enter")
    wait_for(lambda: page.locator("#current").inner_text() not in ("", playing), timeout=20)
    assert page.locator("#current").inner_text() == second, "the track moved to the top follows the skip"
    # Until the whole segments published cover a segment and a half past the click (the
    # one being made, with Low-Latency HLS parts, is not yet in the list of segments).
    def covered():
        text = requests.get(f"{server.url}/stream/hls/{MEDIA_NAME}", timeout=10).text
        last = parse_media_playlist(text).entries[-1]
        return last.pdt + last.duration >= asked + 1.5 * SEG + 0.5

    wait_for(covered, timeout=20)
    pcm, playlist = _stream(server.url, tmp_path)
    origin = playlist.entries[0].pdt
    rms = np.sqrt(np.mean(pcm.astype(np.float64).reshape(-1, 480, 2)[: len(pcm) // 480] ** 2, axis=(1, 2)))
    first = max(0, int((asked - origin) * 100))
    typical = float(np.median(rms[:first])) if first > 10 else float(np.median(rms))
    quiet = next(w for w in range(first, len(rms)) if rms[w] < 0.1 * typical)
    resumed = next(w for w in range(quiet, len(rms)) if rms[w] > 0.3 * typical)
    heard = origin + resumed / 100
    # The next segment boundary after the click, then the 0.2 s fade; 0.3 s for the click's
    # round trip and the database write.
    print(f"\nskip heard {heard - asked:.2f} s after the live edge at the click (segment {SEG} s)")
    assert heard - asked <= SEG + 0.2 + 0.3, f"the skip was heard {heard - asked:.2f} s after the click"
    assert rms[max(0, first - 100):quiet - 20].min() > 0.3 * typical, "what was published before the click stays"


def test_a_schedule_edit_shows_in_up_next(console_page):
    page = console_page
    page.locator("#pl-name").fill("Specials")
    page.get_by_label("From", exact=True).select_option("folder")
    page.get_by_label("Folder, genre or track id", exact=True).fill("special")
    page.get_by_role("button", name="Save playlist").click()
    page.locator("#playlists li", has_text="Specials").wait_for()
    assert "1 track" in page.locator("#playlists li", has_text="Specials").inner_text()

    page.locator("#bl-name").fill("Specials all week")
    page.locator("#bl-playlist").select_option("Specials")
    page.locator("#bl-start").fill("00:00")
    page.locator("#bl-end").fill("00:00")
    page.get_by_role("button", name="Add to the schedule").click()
    page.locator("#blocks li", has_text="Specials all week").wait_for()
    assert page.locator("#gaps li").count() == 0
    assert page.locator(".week__block").count() == 7
    # Up next is decided again under the new schedule.
    wait_for(lambda: all(t == f"{EXTRA.artist} – {EXTRA.title}" for t in _queue(page)[1:]) and _queue(page),
             timeout=30)

    # An overlapping block is refused, with the reason, and the schedule stays as it was.
    page.locator("#bl-name").fill("Breakfast")
    page.locator("#bl-start").fill("07:00")
    page.locator("#bl-end").fill("09:00")
    page.get_by_role("button", name="Add to the schedule").click()
    expect(page.locator("#block-error")).to_contain_text("overlap")
    assert "“Specials all week” and “Breakfast” overlap" in page.locator("#block-error").inner_text()
    assert page.locator("#blocks li").count() == 1
    page.locator("#audit-rows tr", has_text="schedule.replace").first.wait_for()
    assert "olive" in page.locator("#audit-rows tr", has_text="schedule.replace").first.inner_text()


def test_a_listener_gets_403_everywhere_in_the_console(server, browser, tmp_path):
    context = browser.new_context()
    try:
        http = context.request
        _register(server.url, http, f"lenny{uuid.uuid4().hex[:6]}")
        csrf = http.get(f"{server.url}/api/users/me").json()["csrf_token"]
        page = context.new_page()
        answer = page.goto(f"{server.url}/console")
        assert answer.status == 403
        assert page.get_by_role("heading", name="Operators only").is_visible()
        headers = {"X-CSRF-Token": csrf}
        calls = [("get", "/api/console/queue"), ("post", "/api/console/skip"), ("get", "/api/console/library"),
                 ("get", "/api/console/playlists"), ("put", "/api/console/playlists/Mine"),
                 ("get", "/api/console/schedule"), ("put", "/api/console/schedule"), ("get", "/api/console/audit"),
                 ("get", "/api/console/requests"), ("get", "/api/console/live"),
                 ("post", "/api/console/live/disconnect"), ("delete", "/api/console/queue/0123456789ab"),
                 ("post", "/api/console/queue/0123456789ab/move"), ("get", "/api/console/commands/1"),
                 ("patch", "/api/console/library/" + "0" * 20), ("delete", "/api/console/library/" + "0" * 20),
                 ("post", "/api/console/library?name=a.flac")]
        for method, path in calls:
            response = getattr(http, method)(f"{server.url}{path}", headers=headers, data={})
            assert response.status == 403, (method, path, response.status)
            assert response.json()["error"]["code"] == "operator_required"
    finally:
        context.close()


def test_the_console_is_in_the_production_bundle(tmp_path, monkeypatch):
    """WEB_BUNDLE serves the console's entry bundled (its controllers inside, shared code in the
    player's chunks) and its style sheet minified, at the URLs the page names."""
    import re

    from radiocalico.app import create_app
    from radiocalico.services import services
    from radiocalico.web import player, vendor

    node_modules = vendor.DEFAULT_NODE_MODULES
    if not (node_modules / "hls.js").is_dir():
        pytest.skip("node_modules not installed")
    build = tmp_path / "build"
    vendor.bundle(node_modules, vendor.STATIC_DIR, build)
    script = (build / "console" / "console.js").read_text()
    imports = set(re.findall(r'(?:from|import)\s*\(?"(\.\.?/[^"]+)"', script))
    assert imports and all(i.startswith("../chunk-") for i in imports), imports
    monkeypatch.setattr(player, "BUILD_DIR", build)
    app = create_app({"instance_path": tmp_path / "instance", "station_mode": "upstream",
                      "secret_key": "0123456789abcdef" * 2, "web_bundle": True})
    try:
        client = app.test_client()
        for name in ("console/console.js", "console/console.css"):
            served = client.get(f"/static/{name}")
            assert served.status_code == 200 and served.data == (build / name).read_bytes(), name
        page = client.get("/console").get_data(as_text=True)
        assert '<script type="module" src="/static/console/console.js">' in page
    finally:
        services(app).close()
