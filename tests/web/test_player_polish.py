"""The player used as listeners use it: keyboard only, on a small phone, through long network
cuts, pressing Play just after a track change (headless Chromium against the real stack, 1 s
segments, 15 s pure tones)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import pytest
import requests

from tests.web.conftest import ARTIFACTS
from tests.web.test_player_browser import (
    PROBE, current_time, goto, heard_changes, listen, open_player, thumb, wait_progress,
)

pytestmark = [pytest.mark.browser]

LONG_TITLE = "An Extraordinarily Long Title That Goes On And On " * 4

# Every Media Session action handler the page sets, kept where the test can call it: what the
# lock screen and the media keys would do.
CAPTURE_MEDIA_SESSION = """
window.__mediaActions = {};
if ('mediaSession' in navigator) {
  const set = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
  navigator.mediaSession.setActionHandler = (action, handler) => {
    window.__mediaActions[action] = handler;
    return set(action, handler);
  };
}
"""

# The title and cover on show, each time either changes, from the very start of the page.
RECORD_TRACK = """
window.__shown = [];
setInterval(() => {
  const title = document.getElementById('track-title');
  const cover = document.getElementById('cover');
  if (!title || !cover) return;
  const last = window.__shown.at(-1);
  const now = {t: performance.now(), title: title.textContent, cover: cover.getAttribute('src'),
               playing: !document.getElementById('audio').paused};
  if (!last || last.title !== now.title || last.cover !== now.cover) window.__shown.push(now);
}, 20);
"""


def active_id(page) -> str:
    return page.evaluate("() => document.activeElement?.id || document.activeElement?.className || ''")


def base_title(text: str) -> str:
    return text.split(" (")[0]


# -- 1. the account dialog ------------------------------------------------------------------


def test_account_dialog_shows_one_form_with_aria_tabs(page, station_server):
    open_player(page, station_server, play=False)
    assert not page.is_visible("#track-badges"), "the empty badges row shows"
    page.click("#account-open")
    # One form at a time: only the sign-in fields are there, and focus is in the first one.
    assert page.is_visible("#form-signin") and not page.is_visible("#form-signup")
    assert active_id(page) == "signin-login"
    page.keyboard.press("Tab")
    assert active_id(page) == "signin-password"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('form')?.id") == "form-signin"
    # Arrow keys move between the tabs and select them.
    page.focus("#tab-signin")
    page.keyboard.press("ArrowRight")
    assert active_id(page) == "tab-signup"
    assert page.get_attribute("#tab-signup", "aria-selected") == "true"
    assert page.get_attribute("#tab-signin", "aria-selected") == "false"
    assert page.is_visible("#form-signup") and not page.is_visible("#form-signin")
    page.keyboard.press("Home")
    assert active_id(page) == "tab-signin" and page.is_visible("#form-signin")
    # Choosing a tab takes the listener into its form.
    page.click("#tab-signup")
    assert active_id(page) == "signup-username"
    roles = page.evaluate("""() => [document.querySelector('.tabs').getAttribute('role'),
      document.getElementById('form-signup').getAttribute('role'),
      document.getElementById('form-signup').getAttribute('aria-labelledby')]""")
    assert roles == ["tablist", "tabpanel", "tab-signup"]


# -- 3. long outages --------------------------------------------------------------------------


def test_an_offline_period_of_over_four_minutes_ends_in_music(page, context, console, station_server):
    """The page's clock runs 4.5 minutes through the outage in about 30 s: retries go on, the
    player says Offline (no countdown), and the music is back soon after the network."""
    console.allow_network_noise = True
    page.clock.install()
    stream_requests: list[float] = []
    page.on("request", lambda r: "/stream/hls/" in r.url and stream_requests.append(time.monotonic()))
    open_player(page, station_server)
    context.set_offline(True)
    offline_at = time.monotonic()
    labels, statuses = set(), set()
    for _ in range(135):  # 135 x 2 s = 270 s on the page's clock
        page.clock.fast_forward(2000)
        time.sleep(0.15)
        labels.add(page.inner_text("#live-label"))
        statuses.add(page.inner_text("#status"))
    late = [t for t in stream_requests if t > offline_at + (time.monotonic() - offline_at) / 2]
    assert late, "the player stopped retrying during the second half of the outage"
    assert page.inner_text("#live-label") == "Offline", labels
    assert "offline" in page.inner_text("#status"), statuses
    assert not [s for s in statuses if "Reconnecting in" in s], f"a countdown while offline: {statuses}"
    assert not [s for s in statuses if "unavailable" in s], f"the player gave up: {statuses}"
    assert page.get_attribute("#play", "aria-label") == "Pause", "the player no longer wants to play"

    context.set_offline(False)
    back = time.monotonic()
    wait_progress(page, 1.0, timeout=20)
    to_audio = time.monotonic() - back
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "offline-to-audio.json").write_text(json.dumps(to_audio))
    assert to_audio < 8, f"audio came back {to_audio:.1f} s after the network"
    page.wait_for_function("() => document.getElementById('live-label').textContent !== 'Offline'")


# -- 4. Play just after a track change -----------------------------------------------------


def station_title(server) -> str:
    return requests.get(f"{server.url}/stream/metadatav2.json", timeout=2).json()["title"]


def test_play_just_after_a_track_change_never_goes_back(page, station_server):
    """Open the page and press Play within seconds of a track change: the titles shown only
    ever move forwards, and a cover is only ever shown with the track it was fetched for."""
    page.add_init_script(RECORD_TRACK)
    before = station_title(station_server)
    deadline = time.monotonic() + 20
    while station_title(station_server) == before:
        assert time.monotonic() < deadline, "the station did not change tracks"
        time.sleep(0.1)
    goto(page, station_server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'")
    page.click("#play")
    wait_progress(page, 1.0)
    time.sleep(8)
    shown = [s for s in page.evaluate("() => window.__shown") if s["title"] != "Tuning in…"]
    titles = [base_title(s["title"]) for s in shown]
    distinct = [t for i, t in enumerate(titles) if i == 0 or t != titles[i - 1]]
    assert len(distinct) == len(set(distinct)), f"the title went back: {distinct}"
    placeholder = "/static/logo-128.webp"
    paired: dict[str, set[str]] = {}
    for s in shown:
        if s["cover"] != placeholder:
            paired.setdefault(s["cover"], set()).add(base_title(s["title"]))
    assert all(len(titles) == 1 for titles in paired.values()), f"one cover shown with two titles: {paired}"


# -- 5. focus --------------------------------------------------------------------------------


def test_focus_stays_on_the_thumb_voted_with(page, station_server):
    open_player(page, station_server, play=False)
    page.wait_for_function("() => !document.querySelector('#current-rating .thumb--up').disabled")
    page.focus("#current-rating .thumb--up")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#current-rating .thumb--up').getAttribute('aria-pressed') === 'true' && !document.querySelector('#current-rating .thumb--up').disabled")
    time.sleep(0.3)
    assert page.evaluate("() => document.activeElement === document.querySelector('#current-rating .thumb--up')")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement === document.querySelector('#current-rating .thumb--down')")


def test_focus_stays_on_go_live(page, station_server):
    open_player(page, station_server)
    wait_progress(page, 2.0)
    page.evaluate("() => { const a = document.getElementById('audio'); a.currentTime = Math.max(0, a.currentTime - 12); }")
    page.wait_for_selector("#go-live:not([hidden])", timeout=10000)
    page.focus("#go-live")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('live-label').textContent === 'Live'")
    time.sleep(0.5)
    assert active_id(page) == "go-live", "focus left Go live"
    page.keyboard.press("Tab")
    assert active_id(page) == "mute"
    page.wait_for_selector("#go-live", state="hidden")


# -- 6. small phones -------------------------------------------------------------------------


def test_play_is_in_reach_on_a_small_phone(browser, console, station_server):
    context = browser.new_context(viewport={"width": 375, "height": 667}, device_scale_factor=2,
                                  has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        console.attach(page)

        def long_title(route):
            response = route.fetch()
            if response.status != 200:
                route.fulfill(response=response)
                return
            data = response.json()
            data["title"] = LONG_TITLE
            data["artist"] = "A Band Whose Name Is Also Far Longer Than Any Phone Screen Could Hold"
            route.fulfill(response=response, body=json.dumps(data))

        page.route("**/stream/metadatav2.json", long_title)
        open_player(page, station_server, play=False)
        page.wait_for_function("(t) => document.getElementById('track-title').textContent.startsWith(t.slice(0, 20))",
                               arg=LONG_TITLE)
        box = page.locator("#play").bounding_box()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "play-bottom-375x667.json").write_text(json.dumps(box["y"] + box["height"]))
        assert box["y"] >= 0 and box["y"] + box["height"] <= 667, f"Play at {box}"
        page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        # The library's plays load as they come on screen, and the page grows: to the bottom again.
        page.wait_for_function("() => document.getElementById('history-days').children.length > 0"
                               " || !document.getElementById('history-empty').hidden")
        # The plays and their covers keep arriving for a moment: at the bottom once the page
        # has stopped growing (the same height at three polls in a row).
        page.wait_for_function("""() => {
          const height = document.documentElement.scrollHeight;
          window.scrollTo(0, height);
          window.__steady = window.__height === height ? (window.__steady || 0) + 1 : 0;
          window.__height = height;
          return window.__steady >= 3;
        }""", polling=200, timeout=15000)
        time.sleep(0.3)
        assert page.evaluate("() => window.scrollY") > 0, "nothing to scroll"
        box = page.locator("#play").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 667, f"Play scrolled away: {box}"
        # Nothing is left hidden under the player at the bottom of the page.
        footer = page.locator(".site-footer").bounding_box()
        bar = page.locator("#player").bounding_box()
        assert footer["y"] + footer["height"] <= bar["y"] + 1
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(ARTIFACTS / "player-phone-375x667.png"))
        page.unroute_all(behavior="ignoreErrors")
    finally:
        context.close()
    assert console.unexpected() == []


# -- 7. keys, mute, resume, latency ---------------------------------------------------------


def test_arrows_scroll_the_page_and_move_the_volume_only_on_the_slider(page, station_server):
    page.set_viewport_size({"width": 1024, "height": 500})
    open_player(page, station_server, play=False)
    page.click("#track-artist")  # focus on nothing in particular, at the top of the page
    volume = page.evaluate("() => document.getElementById('audio').volume")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    time.sleep(0.3)
    assert page.evaluate("() => document.getElementById('audio').volume") == volume
    assert page.evaluate("() => window.scrollY") > 0, "the arrows did not scroll the page"
    page.keyboard.press("k")
    assert page.get_attribute("#play", "aria-label") == "Pause", "k does not toggle playback"
    page.focus("#volume")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("() => document.getElementById('audio').volume") == pytest.approx(volume - 0.05)
    page.keyboard.press(" ")
    assert page.get_attribute("#play", "aria-label") == "Play", "Space on the volume does not toggle"


def set_volume_slider(page, value: int) -> None:
    page.evaluate("(v) => { const s = document.getElementById('volume'); s.value = String(v);"
                  " s.dispatchEvent(new Event('input', {bubbles: true})); }", value)


def test_unmute_at_volume_zero_brings_the_sound_back(page, station_server):
    open_player(page, station_server, play=False)
    set_volume_slider(page, 60)
    set_volume_slider(page, 0)
    assert page.get_attribute("#mute", "aria-label") == "Unmute"
    page.click("#mute")
    state = page.evaluate("() => [document.getElementById('audio').volume, document.getElementById('audio').muted]")
    assert state == [pytest.approx(0.6), False]
    # volumechange (which remembers the volume) is dispatched later: let it land first, or
    # it would overwrite the fresh visitor's storage below.
    page.wait_for_function("() => localStorage.getItem('radiocalico.volume') === '0.6'")
    # A fresh visitor at 0 with nothing audible remembered gets half volume.
    page.evaluate("() => { localStorage.setItem('radiocalico.volume', '0'); localStorage.removeItem('radiocalico.volume.audible'); }")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.click("#mute")
    assert page.evaluate("() => document.getElementById('audio').volume") == pytest.approx(0.5)


def behind_edge(page) -> float:
    return page.evaluate("() => { const a = document.getElementById('audio');"
                         " return a.seekable.end(a.seekable.length - 1) - a.currentTime; }")


def test_one_resume_rule_for_the_button_and_the_lock_screen(page, station_server):
    """A short pause resumes where paused; a long one resumes at live, whether Play comes from
    the page or from the Media Session (lock screen, media keys)."""
    page.add_init_script(CAPTURE_MEDIA_SESSION)
    open_player(page, station_server)
    wait_progress(page, 2.0)
    live = behind_edge(page)

    page.click("#play")  # pause
    paused_at = current_time(page)
    time.sleep(0.5)
    page.click("#play")
    wait_progress(page, 0.5)
    assert current_time(page) - paused_at < 1.5, "a short pause did not resume where paused"

    for resume in ("button", "media session"):
        page.click("#play")  # pause
        time.sleep(12)
        if resume == "button":
            page.click("#play")
        else:
            page.evaluate("() => window.__mediaActions.play()")
        wait_progress(page, 1.0)
        assert behind_edge(page) < live + 3, f"{resume}: resumed {behind_edge(page):.1f} s behind the live edge"


def started_at(meta: dict, title: str) -> float | None:
    def ms(value):
        if isinstance(value, (int, float)):
            return value * 1000
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
    if meta.get("title") == title and meta.get("started_at"):
        return ms(meta["started_at"])
    for i in range(1, 6):
        if meta.get(f"prev_title_{i}") == title and meta.get(f"prev_started_at_{i}"):
            return ms(meta[f"prev_started_at_{i}"])
    return None


def test_the_latency_shown_is_the_latency_heard(page, station_server):
    """At an audible track change, the latency shown is the time since the station started
    that track (within 0.5 s)."""
    open_player(page, station_server)
    page.evaluate(PROBE)
    page.evaluate("""() => setInterval(() => window.__samples.length && Object.assign(window.__samples.at(-1),
      {wall: Date.now(), latency: document.getElementById('latency').textContent}), 25)""")
    samples = listen(page, lambda s: len(heard_changes(s)) >= 1, timeout=30)
    assert heard_changes(samples), f"no change heard: {page.inner_text('#status')!r} {page.inner_text('#latency')!r} {len(samples)} samples"
    meta = requests.get(f"{station_server.url}/stream/metadatav2.json", timeout=2).json()
    t, title = heard_changes(samples)[0]
    # The latency line is redrawn every 250 ms and is blank while the audio does not flow.
    sample = next(s for s in samples if t <= s["t"] <= t + 2000 and "wall" in s and s["latency"])
    start = started_at(meta, title)
    assert start is not None, f"{title} not in the metadata"
    heard = (sample["wall"] - start) / 1000
    shown = float(sample["latency"].split()[2])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "latency-heard-vs-shown.json").write_text(json.dumps({"heard": heard, "shown": shown}))
    assert abs(shown - heard) <= 0.5, f"latency shown {shown} s, heard {heard:.2f} s"


# -- 6. what the page says before Play and about the account ---------------------------------


def relative_luminance(css: str) -> float:
    """WCAG relative luminance of a computed `rgb(...)`/`rgba(...)` colour (opaque ones)."""
    channels = [float(v) / 255 for v in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_a_thumb_just_pressed_under_the_pointer_stays_readable(page, station_server):
    open_player(page, station_server, play=False)
    for kind in ("up", "down"):
        selector = f"#current-rating .thumb--{kind}"
        page.wait_for_function("(s) => !document.querySelector(s).disabled", arg=selector)
        page.click(selector)  # the pointer stays over the thumb, hovering it
        page.wait_for_function(
            "(s) => { const t = document.querySelector(s);"
            " return t.getAttribute('aria-pressed') === 'true' && !t.disabled && t.matches(':hover'); }",
            arg=selector)
        time.sleep(0.3)  # the background's transition
        ink, paper = page.evaluate(
            "(s) => { const t = getComputedStyle(document.querySelector(s));"
            " return [t.color, t.backgroundColor]; }", selector)
        assert contrast(ink, paper) >= 3, f"thumbs {kind} pressed and hovered: {ink} on {paper}"


def test_signed_in_without_a_display_name_names_the_email(page, station_server):
    open_player(page, station_server, play=False)
    page.click("#account-open")
    page.click("#tab-signup")
    name = f"plain{uuid.uuid4().hex[:8]}"
    page.fill("#signup-username", name)
    page.fill("#signup-email", f"{name}@example.com")
    page.fill("#signup-password", "a long enough password")
    page.click("#form-signup button[type=submit]")
    page.wait_for_function("(n) => document.getElementById('account-label').textContent === n", arg=name)
    if not page.evaluate("() => document.getElementById('account-dialog').open"):
        page.click("#account-open")
    assert page.inner_text("#account-name") == f"{name}@example.com"


SHOWN = """() => ['track-artist', 'track-title', 'track-album', 'source-quality']
  .map((id) => document.getElementById(id).textContent)"""


def test_before_play_the_track_shows_its_details(context, station_server):
    # Just after a track change the page shows, before Play, the track Play would start
    # with: the one before the newest, which the station published as prev_*. It shows
    # with its year, album and source quality, as the newest does.
    seen_behind = False
    for _ in range(3):
        before = station_title(station_server)
        deadline = time.monotonic() + 20
        while station_title(station_server) == before:
            assert time.monotonic() < deadline, "the station did not change tracks"
            time.sleep(0.1)
        page = context.new_page()
        try:
            goto(page, station_server.url + "/")
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'")
            artist, title, album, source = page.evaluate(SHOWN)
        finally:
            page.close()
        assert "(" in title and album and source != "–", (artist, title, album, source)
        seen_behind = seen_behind or base_title(title) == before
        if seen_behind:
            break
    assert seen_behind, "the page never loaded while the previous track was still ahead of Play"
