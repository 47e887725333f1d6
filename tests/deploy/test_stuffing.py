"""Finding 1, through nginx: one address inventing a new listener for every vote had all
285 of 285 votes for one song counted in 30 s. Now each vote needs a listener token, and
an address gets only RATELIMIT_LISTENER_TOKENS of them (bench/stuffing measures the rest)."""

from __future__ import annotations

import time
import uuid

from tests.deploy.topology import Topology


def test_inventing_listeners_through_nginx_counts_at_most_the_token_limit(
    tmp_path, nginx_binary, deploy_schema_url, redis_url
):
    topo = Topology(tmp_path / "topology", deploy_schema_url, redis_url, replicas=1, workers=1,
                    station=False,
                    app_env={"RATELIMIT_LISTENER_TOKENS": "5/hour",
                             "LISTENER_TOKEN_MIN_AGE": "1"}).start()
    try:
        artist, title = "Stuffed", uuid.uuid4().hex[:8]
        sid = topo.play(artist, title)
        browsers, refused = [], 0
        for _ in range(12):
            http = topo.session()
            http.headers["X-Listener-Fingerprint"] = uuid.uuid4().hex
            if http.get(f"{topo.url}/api/listener", timeout=10).status_code == 429:
                refused += 1
            browsers.append(http)
        assert refused == 7
        time.sleep(1.5)  # the tokens have "listened" long enough
        statuses = [
            http.put(f"{topo.url}/api/ratings/{sid}/vote", timeout=10,
                     json={"value": "up", "artist": artist, "title": title}).status_code
            for http in browsers
        ]
        assert sorted(statuses) == [200] * 5 + [403] * 7
        with topo.session() as http:
            assert http.get(f"{topo.url}/api/ratings/{sid}", timeout=10).json()["up"] == 5
    finally:
        topo.stop()
