"""Anonymous votes need a listener token: issued with the page or by GET /api/listener, a
limited number per address, counting only once it has listened a while.

Finding 1: the per-listener vote limit was keyed on the fingerprint the client chooses,
so a script changing it each request had every vote counted."""

from __future__ import annotations

import requests

from tests.api.conftest import fingerprint, song


def _vote(http: requests.Session, url: str, track: dict) -> requests.Response:
    return http.put(f"{url}/api/ratings/{track['id']}/vote",
                    json={"value": "up", "artist": track["artist"], "title": track["title"]})


def test_fresh_fingerprints_alone_count_no_votes(live_server):
    track = song()
    statuses = [
        requests.put(
            f"{live_server.url}/api/ratings/{track['id']}/vote",
            json={"value": "up", "artist": track["artist"], "title": track["title"]},
            headers={"X-Listener-Fingerprint": fingerprint(f"bot {n}")},
        )
        for n in range(10)
    ]
    assert {r.status_code for r in statuses} == {403}
    assert statuses[0].json()["error"]["code"] == "listener_token_required"
    assert requests.get(f"{live_server.url}/api/ratings/{track['id']}").json()["up"] == 0


def test_tokens_per_address_are_limited_and_a_held_token_is_not_counted(
    make_app, make_live_server
):
    url = make_live_server(make_app(ratelimit_listener_tokens="3/hour")).url
    first = requests.Session()
    assert first.get(f"{url}/api/listener").status_code == 200
    for _ in range(5):  # a listener reloading the page keeps its token, uncounted
        assert first.get(f"{url}/api/listener").status_code == 200
    statuses = [requests.get(f"{url}/api/listener").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # The page is still served to a new browser, only without a token.
    page = requests.get(f"{url}/")
    assert page.status_code == 200 and "radiocalico_listener" not in page.cookies


def test_the_page_sets_the_token_and_it_counts_once_old_enough(make_app, make_live_server):
    url = make_live_server(make_app(listener_token_min_age=3600.0)).url
    browser = requests.Session()
    assert browser.get(f"{url}/").status_code == 200
    cookie = next(c for c in browser.cookies if c.name == "radiocalico_listener")
    assert cookie.has_nonstandard_attr("HttpOnly")
    track = song()
    early = _vote(browser, url, track)
    assert early.status_code == 429
    assert early.json()["error"]["code"] == "listening_too_briefly"
    assert int(early.headers["Retry-After"]) > 3500
    wait = browser.get(f"{url}/api/listener").json()["votes_count_in_seconds"]
    assert 3500 < wait <= 3600


def test_a_forged_token_is_no_token(live_server):
    http = requests.Session()
    http.headers["X-Listener-Fingerprint"] = fingerprint("forger")
    http.cookies.set("radiocalico_listener", "InRoaXMtaXMtbm90LW91cnMi.ZZZZZZ.forged")
    response = _vote(http, live_server.url, song())
    assert response.status_code == 403


def test_a_signed_in_listener_needs_no_token(live_server):
    from tests.api.test_users import Account

    me = Account(live_server.url, live_server.app)
    me.register("ivy", "ivy@example.com")
    me.http.cookies.pop("radiocalico_listener", None)
    assert me.vote(song(), "up").status_code == 200
