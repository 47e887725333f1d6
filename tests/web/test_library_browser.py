"""The library in headless Chromium: what played, at the listener's local times, on a phone;
a vote cast from the history shows in the now-playing counts; charts and likes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]

ZONE = "Pacific/Auckland"  # far from UTC, so a time shown in UTC would be caught


@pytest.fixture
def phone(browser, console, station_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id=ZONE,
                                  locale="en-GB", is_mobile=True, has_touch=True)
    page = context.new_page()
    console.attach(page)
    page.set_default_timeout(40000)
    yield page
    context.close()
    assert console.unexpected() == [], "the page logged errors"


def scroll_to_library(page) -> None:
    """The library (its code, the plays, their covers) loads when the listener scrolls near it."""
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#history-days").scroll_into_view_if_needed()


def test_the_library_loads_only_when_scrolled_to(phone, station_server):
    asked: list[str] = []
    phone.on("request", lambda r: asked.append(r.url))
    goto(phone, station_server.url + "/")
    phone.wait_for_selector("body[data-ready=true]")
    phone.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'")
    phone.wait_for_function("() => /listening/.test(document.getElementById('listeners').textContent)")
    phone.wait_for_timeout(1000)
    library = [u for u in asked if "/api/history" in u or "/cover.jpg" in u and "/api/songs/" in u
               or u.endswith("/static/library.js")]
    assert library == []
    scroll_to_library(phone)
    phone.wait_for_selector("#history-days .song")


def test_history_lists_what_played_at_local_times_and_votes_reach_now_playing(phone, station_server):
    goto(phone, station_server.url + "/")
    scroll_to_library(phone)
    # The recorder has recorded at least one start, and the page shows it.
    phone.wait_for_selector("#history-days .song")
    shown = phone.eval_on_selector_all(
        "#history-days .song",
        "items => items.map(i => ({id: Number(i.dataset.playId), time: i.querySelector('time').textContent,"
        " title: i.querySelector('.song__title').textContent}))")
    plays = requests.get(f"{station_server.url}/api/history", params={"limit": 100}).json()["plays"]
    by_id = {p["id"]: p for p in plays}
    assert shown and all(item["id"] in by_id for item in shown)
    assert [item["id"] for item in shown] == [p["id"] for p in plays][: len(shown)]  # newest first
    for item in shown:
        started = datetime.fromisoformat(by_id[item["id"]]["started_at"].replace("Z", "+00:00"))
        assert item["time"] == started.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")
        assert item["title"] == by_id[item["id"]]["title"]
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390

    # Thumbs up from the history, on the song now playing: the now-playing thumbs show it.
    phone.wait_for_function("() => document.getElementById('track-title').textContent !== 'Tuning in…'")
    title = phone.inner_text("#track-title").split(" (")[0]
    phone.wait_for_function(
        "t => [...document.querySelectorAll('#history-days .song__title')].some(n => n.textContent === t)",
        arg=title)
    row = phone.locator("#history-days .song", has=phone.locator(".song__title", has_text=title)).first
    button = row.locator(".thumb--up")
    before = int(button.locator(".thumb__count").inner_text())
    button.click()
    phone.wait_for_function(
        """t => [...document.querySelectorAll('#current-rating .thumb--up, #history-list .thumb--up')]
              .some(b => b.getAttribute('aria-label').includes(`for ${t} by`)
                         && b.getAttribute('aria-pressed') === 'true')""", arg=title)
    assert int(button.locator(".thumb__count").inner_text()) == before + 1

    # The like is listed under My likes, and the chart counts it.
    phone.click("#tab-likes")
    phone.wait_for_function(
        "t => [...document.querySelectorAll('#likes-page-list .song__title')].some(n => n.textContent === t)",
        arg=title)
    phone.click("#tab-charts")
    phone.select_option("#chart-period", "all")
    phone.wait_for_function(
        "t => [...document.querySelectorAll('#chart-list .song__title')].some(n => n.textContent === t)",
        arg=title)

    # Removing it from My likes retracts the vote (and leaves the shared station as it was).
    phone.click("#tab-likes")
    phone.locator(f'#likes-page-list button[aria-label^="Remove {title} by"]').click()
    phone.wait_for_function(
        "t => ![...document.querySelectorAll('#likes-page-list .song__title')].some(n => n.textContent === t)",
        arg=title)
    phone.wait_for_function(
        """t => [...document.querySelectorAll('.thumb--up')]
              .filter(b => b.getAttribute('aria-label').includes(`for ${t} by`))
              .every(b => b.getAttribute('aria-pressed') === 'false')""", arg=title)


def test_history_search_finds_by_artist(phone, station_server):
    goto(phone, station_server.url + "/")
    scroll_to_library(phone)
    phone.wait_for_selector("#history-days .song")
    artist = phone.text_content("#history-days .song__artist")  # as shown in the DOM, spaces kept
    phone.fill("#history-search", artist.upper())
    phone.wait_for_function(
        "a => { const all = [...document.querySelectorAll('#history-days .song__artist')];"
        " return all.length > 0 && all.every(n => n.textContent === a); }", arg=artist)
    phone.fill("#history-search", "no such artist at all")
    phone.wait_for_selector("#history-empty:not([hidden])")


def test_history_stays_live(phone, station_server):
    """A track that starts while the page is open appears on top without a reload."""
    goto(phone, station_server.url + "/")
    scroll_to_library(phone)
    phone.wait_for_selector("#history-days .song")
    first = phone.get_attribute("#history-days .song", "data-play-id")
    phone.wait_for_function(
        "id => document.querySelector('#history-days .song').dataset.playId !== id", arg=first,
        timeout=60000)
    newest = requests.get(f"{station_server.url}/api/history", params={"limit": 1}).json()["plays"][0]
    shown = int(phone.get_attribute("#history-days .song", "data-play-id"))
    assert shown in (newest["id"], newest["id"] - 1)  # the newest, or the one just before it
    ids = phone.eval_on_selector_all("#history-days .song", "items => items.map(i => i.dataset.playId)")
    assert len(ids) == len(set(ids))  # each play once
