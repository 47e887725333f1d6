"""Request metrics, the policies operations declare (rate limits), vote counts, and the
stream listener gauge (API callers are not listeners)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from radiocalico.api.operation import declared_operations
from tests.api.conftest import fingerprint, play, song


def _samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def _vote_body(track: dict, value: str) -> dict:
    return {"value": value, "artist": track["artist"], "title": track["title"],
            "album": track["album"]}


def test_policies_are_declared_on_the_operations(app):
    declared = dict(declared_operations(app))
    limited = {endpoint: [limit.setting for limit in op.limits]
               for endpoint, op in declared.items() if op.limits}
    assert limited == {
        "ratings.put_vote": ["ratelimit_votes", "ratelimit_votes_per_ip"],
        "ratings.delete_vote": ["ratelimit_votes", "ratelimit_votes_per_ip"],
        "users.register": ["ratelimit_auth", "ratelimit_signups"],
        "users.create_session": ["ratelimit_auth", "ratelimit_password", "ratelimit_password"],
        "users.update_me": ["ratelimit_password", "ratelimit_password"],
        "users.delete_me": ["ratelimit_password", "ratelimit_password"],
        "requests.request_track": ["ratelimit_requests", "ratelimit_requests_per_ip"],
        "console_library.upload": ["ratelimit_console_library"],
        "console_library.edit_tags": ["ratelimit_console_library"],
        "console_library.remove_track": ["ratelimit_console_library"],
    }


def test_listeners_are_those_of_the_stream_not_callers_of_the_api(client):
    """Fresh fingerprints cost nothing: API calls must not inflate the listener gauge."""
    track = song()
    listeners = ("radiocalico_stream_listeners", (("rendition", "all"),))
    assert _samples(client)[listeners] == 0
    for name in ("alice", "bob", "carol"):
        headers = {"X-Listener-Fingerprint": fingerprint(name)}
        assert client.get(f"/api/ratings/{track['id']}", headers=headers).status_code == 200
    samples = _samples(client)
    assert samples[listeners] == 0
    assert not any(name == "radiocalico_listeners_seen" for name, _ in samples)
    client.get("/internal/stream-hit", headers={"X-Original-URI": "/stream/hls/live.m3u8",
                                                "User-Agent": "VLC/3.0.20 LibVLC/3.0.20"})
    assert _samples(client)[listeners] == 1


def test_votes_are_counted_by_action(app, client):
    track = song()
    play(app, track)
    headers = {"X-Listener-Fingerprint": fingerprint("bob")}
    client.get("/api/listener")
    key = {action: ("radiocalico_votes_total", (("action", action),))
           for action in ("up", "down", "retract")}
    before = _samples(client)
    client.put(f"/api/ratings/{track['id']}/vote", json=_vote_body(track, "up"), headers=headers)
    client.put(f"/api/ratings/{track['id']}/vote", json=_vote_body(track, "up"), headers=headers)
    client.delete(f"/api/ratings/{track['id']}/vote", headers=headers)
    after = _samples(client)
    delta = {action: after.get(k, 0) - before.get(k, 0) for action, k in key.items()}
    assert delta == {"up": 2, "down": 0, "retract": 1}


def test_requests_are_labelled_by_endpoint_and_a_scrape_not_at_all(client):
    client.get("/health/ready")
    samples = _samples(client)
    labelled = {dict(labels).get("endpoint") for name, labels in samples
                if name == "radiocalico_http_requests_total"}
    assert "monitoring.ready" in labelled
    assert "monitoring.metrics" not in labelled


def test_made_up_methods_and_paths_do_not_grow_the_scrape(live_server):
    """Finding 4: the raw method was a label, so random methods grew /metrics without end."""
    import secrets

    import requests

    def lines() -> int:
        return len(requests.get(f"{live_server.url}/metrics").text.splitlines())

    requests.get(f"{live_server.url}/health")
    requests.request("FOO", f"{live_server.url}/health")
    requests.request("FOO", f"{live_server.url}/no-such-path")
    before = lines()
    for _ in range(40):
        method = "X" + secrets.token_hex(4).upper()
        requests.request(method, f"{live_server.url}/{secrets.token_hex(4)}")
        requests.request(method, f"{live_server.url}/health")
    assert lines() == before
    text = requests.get(f"{live_server.url}/metrics").text
    assert 'method="other"' in text
