"""Bad input gets a clear JSON error with the right status, never a stack trace."""

from __future__ import annotations

import pytest
import requests

from tests.api.conftest import anonymous_session, fingerprint, play, song


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], list)
    if code:
        assert error["code"] == code
    assert "Traceback" not in response.text
    return error


def vote_url(base: str) -> str:
    return f"{base}/api/ratings/{song()['id']}/vote"


HEADERS = {"X-Listener-Fingerprint": fingerprint("x")}


def test_malformed_json_is_400(live_server):
    response = requests.put(
        vote_url(live_server.url), data="{not json",
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "bad_request")


def test_unknown_path_is_404(live_server):
    assert_error(requests.get(f"{live_server.url}/api/nothing-here"), 404, "not_found")


def test_malformed_song_id_is_404(live_server):
    assert_error(requests.get(f"{live_server.url}/api/ratings/NOT-AN-ID"), 404)


def test_wrong_method_is_405_with_allow(live_server):
    response = requests.post(f"{live_server.url}/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_oversized_body_is_413(live_server):
    body = {"value": "up", "artist": "a" * 40_000, "title": "t"}
    http = anonymous_session(live_server.url, "x")
    assert_error(http.put(vote_url(live_server.url), json=body), 413)


def test_a_form_body_is_415(live_server):
    http = anonymous_session(live_server.url, "x")
    response = http.put(vote_url(live_server.url), data={"value": "up"})
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"value": "sideways", "artist": "Shandi", "title": "He's A Dream"}, "value"),
        ({"value": "up", "title": "He's A Dream"}, "artist"),
        ({"value": "up", "artist": "Shandi", "title": ""}, "title"),
        ({"value": "up", "artist": "Shandi", "title": "He's A Dream", "extra": 1}, "extra"),
    ],
)
def test_invalid_fields_are_422_with_field_details(live_server, body, field):
    http = anonymous_session(live_server.url, "x")
    response = http.put(vote_url(live_server.url), json=body)
    error = assert_error(response, 422, "validation_error")
    assert field in [f["field"] for f in error["fields"]]


def test_an_invalid_email_is_422(live_server):
    response = requests.post(
        f"{live_server.url}/api/users",
        json={"username": "alice", "email": "not-an-address", "password": "long enough pw"},
    )
    assert [f["field"] for f in assert_error(response, 422)["fields"]] == ["email"]


def test_a_failing_bad_request_keeps_what_was_stored(live_server):
    track = song()
    play(live_server.app, track)
    good = {"value": "up", "artist": track["artist"], "title": track["title"]}
    http = anonymous_session(live_server.url, "x")
    assert http.put(vote_url(live_server.url), json=good).status_code == 200
    bad = {"value": "down", "artist": track["artist"], "title": ""}
    assert http.put(vote_url(live_server.url), json=bad).status_code == 422
    rating = http.get(f"{live_server.url}/api/ratings/{track['id']}").json()
    assert (rating["up"], rating["my_vote"]) == (1, "up")


def test_too_many_votes_is_429(make_app, make_live_server):
    server = make_live_server(make_app(ratelimit_votes="3/minute"))
    track = song()
    play(server.app, track)
    body = {"value": "up", "artist": track["artist"], "title": track["title"]}
    url = f"{server.url}/api/ratings/{track['id']}/vote"
    http = anonymous_session(server.url, "x")
    answers = [http.put(url, json=body) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    # Issue 21: every answer of a limited view said Retry-After: 60. Only a 429 does, and it
    # tells when the oldest vote leaves the one-minute window.
    assert [("Retry-After" in a.headers) for a in answers] == [False, False, False, True]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    response = http.put(url, json=body)
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 61  # whole seconds, rounded up


def test_too_many_sign_in_attempts_is_429(make_app, make_live_server):
    server = make_live_server(make_app(ratelimit_auth="2/minute"))
    url = f"{server.url}/api/users/session"
    body = {"login": "nobody", "password": "whatever it is"}
    statuses = [requests.post(url, json=body).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_an_unexpected_failure_is_a_generic_500(make_app, make_live_server):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    response = requests.get(f"{make_live_server(app).url}/boom")
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert error["message"] == "Something went wrong on our side."


@pytest.mark.parametrize("path,method", [
    (f"/api/ratings/{song()['id']}/vote", "PUT"),
    ("/api/users", "POST"),
    ("/api/users/session", "POST"),
])
def test_deeply_nested_json_is_422_not_a_crash(live_server, path, method):
    """Finding 8: a 10 KB, 5,000-level array raised RecursionError (500)."""
    deep = "[" * 5000 + "]" * 5000
    response = requests.request(
        method, live_server.url + path, data=deep,
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert_error(response, 422, "validation_error")
    # Brackets inside strings are text, not nesting.
    text = {"login": "[" * 200, "password": "x"}
    response = requests.post(f"{live_server.url}/api/users/session", json=text)
    assert_error(response, 401)
