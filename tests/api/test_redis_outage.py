"""Redis (the shared rate-limit storage) down: limits still hold, nothing answers 500,
and readiness says so. Finding 5: every vote and sign-in was a 500 while /health/ready
said 200."""

from __future__ import annotations

import requests

from tests.api.conftest import Listener, song

# Nothing listens on port 1: the connection is refused at once.
DOWN = "redis://127.0.0.1:1/0"


def test_votes_and_sign_ins_work_and_stay_limited_while_redis_is_down(
    make_app, make_live_server
):
    app = make_app(redis_url=DOWN, ratelimit_auth="3/minute", ratelimit_votes="2/minute")
    url = make_live_server(app).url
    fan = Listener(url, "fan", app)
    track = song()
    assert fan.vote(track, "up").status_code == 200
    assert fan.vote(track, "down").status_code == 200
    limited = fan.vote(track, "up")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"

    attempts = [
        requests.post(f"{url}/api/users/session", json={"login": "nobody", "password": "x"})
        for _ in range(4)
    ]
    assert [r.status_code for r in attempts] == [401, 401, 401, 429]


def test_readiness_fails_while_redis_is_down(make_app):
    client = make_app(redis_url=DOWN, ready_max_segment_age=0).test_client()
    response = client.get("/health/ready")
    assert response.status_code == 503
    check = response.json["checks"]["rate_limits"]
    assert check["status"] == "failing" and "Redis" in check["detail"]
    assert response.json["checks"]["database"]["status"] == "ok"


def test_readiness_skips_redis_when_none_is_configured(make_app):
    client = make_app(ready_max_segment_age=0).test_client()
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"]["rate_limits"] == {"status": "skipped"}
