"""Accounts: sign up, in and out, my profile, my likes, deleting my account."""

from __future__ import annotations

import requests

from tests.api.conftest import play, song

PASSWORD = "correct horse battery"


class Account:
    """A browser with a signed-in session."""

    def __init__(self, base_url: str, app=None):
        self.base_url = base_url
        self.app = app  # when given, `vote` has the station play the track first
        self.http = requests.Session()
        self.csrf = ""

    def register(self, username: str, email: str, password: str = PASSWORD):
        response = self.http.post(
            f"{self.base_url}/api/users",
            json={"username": username, "email": email, "password": password},
        )
        if response.status_code == 201:  # the session (if any) tells: see test below
            me = self.http.get(f"{self.base_url}/api/users/me")
            self.csrf = me.json()["csrf_token"] if me.status_code == 200 else ""
        return response

    def sign_in(self, login: str, password: str = PASSWORD):
        response = self.http.post(
            f"{self.base_url}/api/users/session", json={"login": login, "password": password}
        )
        self.csrf = response.json().get("csrf_token", "")
        return response

    def request(self, method: str, path: str, **kwargs):
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def vote(self, track: dict, value: str):
        if self.app is not None:
            play(self.app, track)
        body = {"value": value, "artist": track["artist"], "title": track["title"]}
        return self.request("PUT", f"/api/ratings/{track['id']}/vote", json=body)


def test_sign_up_signs_in_and_shows_my_profile(live_server):
    me = Account(live_server.url)
    created = me.register("Alice", "Alice@Example.com")
    assert created.status_code == 201
    profile = me.request("GET", "/api/users/me").json()["user"]
    assert (profile["username"], profile["email"]) == ("alice", "alice@example.com")


def test_the_session_cookie_is_httponly_and_samesite(live_server):
    me = Account(live_server.url)
    header = me.register("alice", "alice@example.com").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header


def test_the_session_cookie_is_secure_behind_tls(make_app, make_live_server):
    server = make_live_server(make_app(session_cookie_secure=True))
    header = Account(server.url).register("alice", "alice@example.com").headers["Set-Cookie"]
    assert "Secure" in header


def test_a_taken_username_is_a_conflict(live_server):
    Account(live_server.url).register("alice", "alice@example.com")
    again = Account(live_server.url).register("ALICE", "other@example.com")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "username_taken"
    assert again.json()["error"]["fields"] == [{"field": "username", "message": "taken"}]


def test_sign_up_does_not_reveal_whether_an_email_is_registered(live_server):
    """Finding: signing up with a registered e-mail answered 409 `taken`."""
    owner = Account(live_server.url)
    owner.register("alice", "alice@example.com")
    new = Account(live_server.url).register("carol", "carol@example.com")
    prober = Account(live_server.url)
    probe = prober.register("mallory", "ALICE@example.com", password="a different passphrase")
    assert probe.status_code == new.status_code == 201
    assert probe.json() == new.json()
    assert set(probe.json()) == {"message"} and "sign in" in probe.json()["message"]
    # Nothing was created and nobody signed in: the prober has no session, no account.
    assert prober.request("GET", "/api/users/me").status_code == 401
    assert Account(live_server.url).sign_in("mallory", "a different passphrase").status_code == 401
    assert Account(live_server.url).sign_in("alice@example.com", "a different passphrase").status_code == 401
    # The owner's account is untouched, and the new listener is signed in.
    assert owner.request("GET", "/api/users/me").json()["user"]["username"] == "alice"
    assert Account(live_server.url).sign_in("alice@example.com").status_code == 200


def test_sign_in_errors_do_not_reveal_whether_an_account_exists(live_server):
    Account(live_server.url).register("alice", "alice@example.com")
    wrong_password = Account(live_server.url).sign_in("alice", "wrong password!")
    no_account = Account(live_server.url).sign_in("nobody", "wrong password!")
    assert wrong_password.status_code == no_account.status_code == 401
    assert wrong_password.json() == no_account.json()


def test_sign_in_by_email_then_sign_out(live_server):
    Account(live_server.url).register("alice", "alice@example.com")
    me = Account(live_server.url)
    assert me.sign_in("ALICE@example.com").status_code == 200
    assert me.request("DELETE", "/api/users/session").status_code == 204
    assert me.request("GET", "/api/users/me").status_code == 401


def test_state_changes_of_a_session_need_the_csrf_token(live_server):
    me = Account(live_server.url, live_server.app)
    me.register("alice", "alice@example.com")
    track = song()
    body = {"value": "up", "artist": track["artist"], "title": track["title"]}
    forged = me.http.put(f"{live_server.url}/api/ratings/{track['id']}/vote", json=body)
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "csrf_failed"
    assert me.vote(track, "up").status_code == 200


def test_a_signed_in_listener_votes_as_their_account(live_server):
    me = Account(live_server.url, live_server.app)
    me.register("alice", "alice@example.com")
    track = song()
    me.vote(track, "up")
    # The same account from another browser sees its vote.
    other_browser = Account(live_server.url, live_server.app)
    other_browser.sign_in("alice")
    mine = other_browser.request("GET", f"/api/ratings/{track['id']}").json()
    assert (mine["up"], mine["my_vote"]) == (1, "up")


def test_my_likes_are_mine_alone(live_server):
    alice = Account(live_server.url, live_server.app)
    bob = Account(live_server.url, live_server.app)
    alice.register("alice", "alice@example.com")
    bob.register("bob", "bob@example.com")
    liked, disliked = song("A", "Liked"), song("B", "Disliked")
    alice.vote(liked, "up")
    alice.vote(disliked, "down")
    bob.vote(song("C", "Bob's"), "up")
    titles = [s["title"] for s in alice.request("GET", "/api/users/me/likes").json()["songs"]]
    assert titles == ["Liked"]
    assert [s["title"] for s in bob.request("GET", "/api/users/me/likes").json()["songs"]] == [
        "Bob's"
    ]


def test_no_endpoint_lists_users_or_shows_anothers_email(live_server):
    Account(live_server.url).register("alice", "alice@example.com")
    stranger = requests.Session()
    listing = stranger.get(f"{live_server.url}/api/users")
    assert listing.status_code == 405
    for path in ("/api/users/me", "/api/users/1", "/api/users/me/likes"):
        response = stranger.get(f"{live_server.url}{path}")
        assert response.status_code in (401, 404)
        assert "alice@example.com" not in response.text


def test_changing_the_password_ends_other_sessions(live_server):
    first = Account(live_server.url)
    first.register("alice", "alice@example.com")
    second = Account(live_server.url)
    second.sign_in("alice")
    changed = first.request(
        "PATCH", "/api/users/me",
        json={"new_password": "a brand new passphrase", "current_password": PASSWORD},
    )
    assert changed.status_code == 200
    assert first.request("GET", "/api/users/me").status_code == 200
    assert second.request("GET", "/api/users/me").status_code == 401


def test_changing_the_email_needs_the_current_password(live_server):
    me = Account(live_server.url)
    me.register("alice", "alice@example.com")
    refused = me.request("PATCH", "/api/users/me", json={"email": "new@example.com"})
    assert refused.status_code == 403
    assert me.request("GET", "/api/users/me").json()["user"]["email"] == "alice@example.com"


def test_deleting_my_account_removes_its_votes(live_server):
    me = Account(live_server.url, live_server.app)
    me.register("alice", "alice@example.com")
    track = song()
    me.vote(track, "up")
    assert me.request("DELETE", "/api/users/me", json={"password": "wrong one!"}).status_code == 403
    assert me.request("DELETE", "/api/users/me", json={"password": PASSWORD}).status_code == 204
    rating = requests.get(f"{live_server.url}/api/ratings/{track['id']}").json()
    assert rating["up"] == 0
    assert Account(live_server.url).sign_in("alice").status_code == 401
    # The name is free again.
    assert Account(live_server.url).register("alice", "alice@example.com").status_code == 201


def test_public_answers_never_carry_a_signed_in_listeners_cookie(live_server):
    me = Account(live_server.url)
    me.register("carol", "carol@example.com")
    assert me.csrf, "signed in"
    for path in ("/api/now-playing", "/api/history", "/api/charts/top-rated",
                 "/api/listeners", "/embed"):
        answer = me.http.get(f"{live_server.url}{path}")
        assert answer.status_code == 200, path
        assert "public" in answer.headers["Cache-Control"], path
        assert "Set-Cookie" not in answer.headers, path
    # ...while the session still works and is still refreshed on personal answers.
    mine = me.http.get(f"{live_server.url}/api/users/me")
    assert mine.status_code == 200 and "Set-Cookie" in mine.headers


def test_personal_answers_are_never_stored(live_server):
    me = Account(live_server.url, live_server.app)
    me.register("dave", "dave@example.com")
    track = song("Personal", "Answer")
    for answer in (me.http.get(f"{live_server.url}/api/users/me"),
                   me.vote(track, "up"),
                   me.http.get(f"{live_server.url}/api/ratings/{track['id']}"),
                   me.http.get(f"{live_server.url}/api/ratings?ids={track['id']}")):
        assert answer.status_code == 200, answer.text
        assert answer.headers["Cache-Control"] == "private, no-store"


def test_sign_up_answers_differ_only_by_the_new_accounts_session(make_app, make_live_server):
    """Issue 21 (low), kept as a trade-off and pinned here: a sign-up with a free address
    answers with the new account's session cookie, one with a registered address without.
    The session is what signs the new listener in; a decoy cookie would not hide the answer,
    since the session cookie is signed, not encrypted (its uid is readable), and
    GET /api/users/me tells whether it is real. Learning it costs the prober a sign-up:
    the account is created when the address was free, and sign-ups are limited per address."""
    server = make_live_server(make_app(ratelimit_auth="3/minute"))
    Account(server.url).register("alice", "alice@example.com")
    free = requests.post(f"{server.url}/api/users", json={
        "username": "mallory", "email": "carol@example.com", "password": PASSWORD})
    taken = requests.post(f"{server.url}/api/users", json={
        "username": "mallory2", "email": "alice@example.com", "password": PASSWORD})
    assert free.status_code == taken.status_code == 201 and free.json() == taken.json()
    assert "Set-Cookie" in free.headers and "Set-Cookie" not in taken.headers
    # The probe of a free address made an account: the address is no longer free.
    assert Account(server.url).sign_in("carol@example.com").status_code == 200
    fourth = requests.post(f"{server.url}/api/users", json={
        "username": "mallory3", "email": "dave@example.com", "password": PASSWORD})
    assert fourth.status_code == 429
