"""A vote refused for want of a listener token, in headless Chromium against the real stack
(whose LISTENER_TOKEN_MIN_AGE is 0, so that a token counts at once): the page asks
`GET /api/listener` once and sends the vote once more, or says in the listener's words
why the vote cannot count yet, and the optimistic count goes back."""

from __future__ import annotations

import json

import pytest

from tests.web.test_player_browser import open_player, thumb

pytestmark = [pytest.mark.browser]

COOKIE = "radiocalico_listener"
# The API's developer wording, which the listener must never see.
DEVELOPER_WORDING = "/api/listener"


def is_vote(request) -> bool:
    return request.method in ("PUT", "DELETE") and request.url.split("?")[0].endswith("/vote")


def is_listener(request) -> bool:
    return request.url.split("?")[0].endswith("/api/listener")


class Requests:
    """The votes and the listener-token requests the page makes."""

    def __init__(self, page):
        self.votes: list[str] = []
        self.listener: list[str] = []
        page.on("request", self.seen)

    def seen(self, request) -> None:
        if is_vote(request):
            self.votes.append(request.method)
        elif is_listener(request):
            self.listener.append(request.method)


def ready_thumb(page, kind: str = "up"):
    """The current track's thumb, once it can be pressed; its title and its count."""
    selector = f"#current-rating .thumb--{kind}"
    page.wait_for_function(f"() => !document.querySelector('{selector}').disabled")
    title = page.inner_text("#track-title").split(" (")[0]
    button = thumb(page, kind, title)
    return button, title, int(button.locator(".thumb__count").inner_text())


def wait_settled(page, title: str, kind: str = "up") -> None:
    """Until the vote on `title` is no longer in flight."""
    verb = "Thumbs up" if kind == "up" else "Thumbs down"
    page.wait_for_function(
        "(prefix) => [...document.querySelectorAll('.thumb')].some(b => "
        "b.getAttribute('aria-label').startsWith(prefix) && !b.disabled)",
        arg=f"{verb} for {title} by")


def listener_cookie(context) -> list[dict]:
    return [c for c in context.cookies() if c["name"] == COOKIE]


def refuse(status: int, code: str, message: str, headers: dict | None = None):
    """A route handler answering with the API's error shape."""
    def handler(route):
        route.fulfill(status=status, content_type="application/json", headers=headers or {},
                      body=json.dumps({"error": {"code": code, "message": message, "fields": []}}))
    return handler


def issue_token(counts_in_seconds: float):
    """A route handler answering GET /api/listener as the server does, without setting the
    cookie (so the page holds no token afterwards)."""
    def handler(route):
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps({"votes_count_in_seconds": counts_in_seconds}))
    return handler


def test_a_vote_without_the_cookie_gets_a_new_token_and_is_saved(page, context, console, station_server):
    console.allow_network_noise = True  # Chromium logs the first answer, a 403
    open_player(page, station_server, play=False)
    assert listener_cookie(context), "the page was served without a listener token"
    context.clear_cookies(name=COOKIE)  # as if the address had no tokens left then
    seen = Requests(page)
    up, title, before = ready_thumb(page)

    up.click()
    wait_settled(page, title)
    assert seen.listener == ["GET"] and seen.votes == ["PUT", "PUT"]
    assert up.get_attribute("aria-pressed") == "true"
    assert int(up.locator(".thumb__count").inner_text()) == before + 1
    assert "not saved" not in page.inner_text("#status")
    assert listener_cookie(context), "the new token was not kept"

    # Saved under the new token: a reload (which keeps the token) shows it as mine.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('.thumb--up')].some(b => b.getAttribute('aria-label').includes(t) && b.getAttribute('aria-pressed') === 'true')",
        arg=f"for {title} by")
    assert int(thumb(page, "up", title).locator(".thumb__count").inner_text()) == before + 1


def test_too_many_new_listeners_rolls_the_vote_back_with_words_for_the_listener(page, context, console, station_server):
    console.allow_network_noise = True  # the 403 and the 429
    open_player(page, station_server, play=False)
    context.clear_cookies(name=COOKIE)
    page.route("**/api/listener", refuse(
        429, "rate_limited", "Too many new listeners from this address; try again later.",
        {"Retry-After": "600"}))
    seen = Requests(page)
    up, title, before = ready_thumb(page)

    up.click()
    wait_settled(page, title)
    assert seen.listener == ["GET"] and seen.votes == ["PUT"]  # no second vote without a token
    assert up.get_attribute("aria-pressed") == "false"
    assert int(up.locator(".thumb__count").inner_text()) == before
    status = page.inner_text("#status")
    assert status == "Too many new listeners on your network right now: sign in to vote, or try again later."
    assert page.get_attribute("#status", "data-kind") == "error"
    page.unroute_all(behavior="ignoreErrors")


def test_a_token_that_must_age_says_when_votes_count(page, context, console, station_server):
    console.allow_network_noise = True  # the 403
    open_player(page, station_server, play=False)
    context.clear_cookies(name=COOKIE)
    # A new token on a server that counts votes only after a minute of listening (this
    # answer sets no cookie, so the vote is never sent again).
    page.route("**/api/listener", issue_token(60.0))
    seen = Requests(page)
    up, title, before = ready_thumb(page)

    up.click()
    wait_settled(page, title)
    assert seen.listener == ["GET"] and seen.votes == ["PUT"]
    assert int(up.locator(".thumb__count").inner_text()) == before
    assert page.inner_text("#status") == "Your votes count after a minute of listening: please vote again then."
    page.unroute_all(behavior="ignoreErrors")


def test_a_browser_that_keeps_no_cookie_is_told_so_and_the_vote_is_sent_twice_only(page, context, console, station_server):
    console.allow_network_noise = True  # the two 403s
    open_player(page, station_server, play=False)
    context.clear_cookies(name=COOKIE)
    # The token counts at once but never reaches the next request (cookies blocked).
    page.route("**/api/listener", issue_token(0))
    seen = Requests(page)
    up, title, before = ready_thumb(page)

    up.click()
    wait_settled(page, title)
    assert seen.listener == ["GET"] and seen.votes == ["PUT", "PUT"]
    assert int(up.locator(".thumb__count").inner_text()) == before
    status = page.inner_text("#status")
    assert status.startswith("Your vote on “") and title in status
    assert status.endswith("was not saved: allow cookies for this site to vote, or sign in.")
    assert DEVELOPER_WORDING not in status
    page.unroute_all(behavior="ignoreErrors")


def test_listening_too_briefly_says_in_how_many_seconds_votes_count(page, console, station_server):
    console.allow_network_noise = True  # the 429
    open_player(page, station_server, play=False)
    # The server's answer to a token younger than LISTENER_TOKEN_MIN_AGE (api/identity.py).
    page.route("**/api/ratings/*/vote", refuse(
        429, "listening_too_briefly", "Listen a little longer before voting.", {"Retry-After": "42"}))
    seen = Requests(page)
    up, title, before = ready_thumb(page)

    up.click()
    wait_settled(page, title)
    assert seen.listener == [] and seen.votes == ["PUT"]
    assert up.get_attribute("aria-pressed") == "false"
    assert int(up.locator(".thumb__count").inner_text()) == before
    assert page.inner_text("#status") == "Listen a little longer: your votes count in 42 seconds."
    page.unroute_all(behavior="ignoreErrors")
