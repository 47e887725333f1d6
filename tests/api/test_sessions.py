"""Sessions end on the server, and one person on one device has one vote.

Finding 6: after sign-out the old session cookie still read and changed the account.
Listener polish: a listener who voted anonymously and then signed up on the same device
was counted twice; after sign-out the vote reappeared as the device's."""

from __future__ import annotations

import requests

from tests.api.conftest import Listener, song
from tests.api.test_users import PASSWORD, Account


def test_a_kept_cookie_stops_working_after_sign_out(live_server):
    me = Account(live_server.url)
    assert me.register("alice", "alice@example.com").status_code == 201
    kept = dict(me.http.cookies)
    csrf = me.csrf
    assert me.request("DELETE", "/api/users/session").status_code == 204

    thief = requests.Session()
    thief.cookies.update(kept)
    assert thief.get(f"{live_server.url}/api/users/me").status_code == 401
    changed = thief.patch(f"{live_server.url}/api/users/me", json={"display_name": "owned"},
                          headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 401
    # The account itself is untouched and can sign in again.
    assert me.sign_in("alice").status_code == 200
    assert me.request("GET", "/api/users/me").json()["user"]["display_name"] == "alice"


def test_signing_out_one_device_keeps_the_other_signed_in(live_server):
    laptop, phone = Account(live_server.url), Account(live_server.url)
    laptop.register("bob", "bob@example.com")
    phone.sign_in("bob")
    laptop.request("DELETE", "/api/users/session")
    assert phone.request("GET", "/api/users/me").status_code == 200


def test_a_new_password_ends_the_other_sessions(live_server):
    laptop, phone = Account(live_server.url), Account(live_server.url)
    laptop.register("carol", "carol@example.com")
    phone.sign_in("carol")
    changed = laptop.request("PATCH", "/api/users/me", json={
        "current_password": PASSWORD, "new_password": "another long passphrase"})
    assert changed.status_code == 200
    assert laptop.request("GET", "/api/users/me").status_code == 200
    assert phone.request("GET", "/api/users/me").status_code == 401


def _device(server, name: str) -> Account:
    """A browser that votes anonymously first (fingerprint and cookies), then signs up."""
    base_url = server.url
    device = Account(base_url, server.app)
    anonymous = Listener(base_url, name).http
    device.http.headers.update(anonymous.headers)
    device.http.cookies.update(anonymous.cookies)
    return device


def test_anonymous_votes_merge_into_the_account_on_sign_up(live_server):
    a, b, c = song("A", "One"), song("B", "Two"), song("C", "Three")
    device = _device(live_server, "dana's phone")
    assert device.vote(a, "up").json()["up"] == 1
    assert device.vote(b, "down").json()["down"] == 1

    assert device.register("dana", "dana@example.com").status_code == 201
    # The anonymous vote is now the account's: voting again changes it, never adds one.
    again = device.vote(a, "up").json()
    assert (again["up"], again["down"], again["my_vote"]) == (1, 0, "up")
    mine_b = device.request("GET", f"/api/ratings/{b['id']}").json()
    assert (mine_b["up"], mine_b["down"], mine_b["my_vote"]) == (0, 1, "down")
    device.vote(c, "up")
    liked = device.request("GET", "/api/users/me/likes").json()["songs"]
    assert {s["song_id"] for s in liked} == {a["id"], c["id"]}

    # Signed out, the device is anonymous again and holds none of the account's votes.
    device.request("DELETE", "/api/users/session")
    for track, up, down in ((a, 1, 0), (b, 0, 1), (c, 1, 0)):
        rating = device.request("GET", f"/api/ratings/{track['id']}").json()
        assert (rating["up"], rating["down"], rating["my_vote"]) == (up, down, None)


def test_on_sign_in_the_accounts_vote_wins_over_the_devices(live_server):
    track = song()
    laptop = Account(live_server.url, live_server.app)
    laptop.register("erin", "erin@example.com")
    laptop.vote(track, "up")
    laptop.request("DELETE", "/api/users/session")

    phone = _device(live_server, "erin's phone")
    assert phone.vote(track, "down").json()["down"] == 1
    assert phone.sign_in("erin").status_code == 200
    rating = phone.request("GET", f"/api/ratings/{track['id']}").json()
    assert (rating["up"], rating["down"], rating["my_vote"]) == (1, 0, "up")
    phone.request("DELETE", "/api/users/session")
    rating = phone.request("GET", f"/api/ratings/{track['id']}").json()
    assert (rating["up"], rating["down"], rating["my_vote"]) == (1, 0, None)
