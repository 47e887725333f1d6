"""Two stateless replicas behind nginx: one dies, listeners never notice; and the
PostgreSQL outage drill on a throwaway cluster (never the machine's shared one)."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from tests.deploy.topology import ThrowawayPostgres, Topology, wait_for


def test_requests_keep_succeeding_while_a_replica_is_killed(topology):
    session = topology.session()
    fingerprint = uuid.uuid4().hex
    artist, title = "Failover Artist", f"Still Here {uuid.uuid4().hex[:6]}"
    sid = topology.play(artist, title)
    results: list[tuple[str, int]] = []
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            for method, path in (("GET", "/api/ratings/top?limit=5"),
                                 ("GET", f"/api/ratings/{sid}"),
                                 ("GET", "/health")):
                try:
                    status = session.request(method, topology.url + path, timeout=10).status_code
                except requests.RequestException as exc:
                    status = -1
                    results.append((f"{method} {path} {exc!r}", status))
                    continue
                results.append((f"{method} {path}", status))
            time.sleep(0.1)  # stay under the vote zone's rate

    session.get(f"{topology.url}/api/listener", timeout=10).raise_for_status()
    vote = session.put(f"{topology.url}/api/ratings/{sid}/vote",
                       json={"value": "up", "artist": artist, "title": title, "album": ""},
                       headers={"X-Listener-Fingerprint": fingerprint}, timeout=10)
    assert vote.status_code == 200

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        time.sleep(1.0)
        topology.apps[1].kill()  # SIGKILL the whole app server of replica 1
        time.sleep(2.5)
        # The vote written through replica 0 or 1 is in the shared store.
        again = session.put(f"{topology.url}/api/ratings/{sid}/vote",
                            json={"value": "up", "artist": artist, "title": title, "album": ""},
                            headers={"X-Listener-Fingerprint": fingerprint}, timeout=10)
        assert again.status_code == 200 and again.json()["up"] == 1  # idempotent PUT
    finally:
        stop.set()
        worker.join(15)
    try:
        failures = [r for r in results if r[1] != 200]
        assert len(results) > 20
        assert not failures, failures[:5]
    finally:
        topology.start_app(1)  # back to two replicas for whatever runs next


def test_health_is_503_while_postgresql_is_down_and_200_once_it_is_back(
        tmp_path, nginx_binary, pg_binaries):
    postgres = ThrowawayPostgres(tmp_path / "pg").init()
    topo = Topology(tmp_path / "topology", postgres.url, replicas=1, workers=1, station=False,
                    app_env={"READY_MAX_SEGMENT_AGE": "0"})
    try:
        topo.start()
        session = topo.session()

        def health() -> int:
            return session.get(topo.url + "/health", timeout=10).status_code

        assert health() == 200
        postgres.stop()
        wait_for(lambda: health() == 503, 20, "/health to report 503")
        body = session.get(topo.url + "/health", timeout=10).json()
        assert body["database"] == "unreachable"
        ready = session.get(topo.url + "/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["status"] == "failing"

        postgres.start()
        wait_for(lambda: health() == 200, 30, "/health to recover")
        assert session.get(topo.url + "/health/ready", timeout=10).status_code == 200
    finally:
        topo.stop()
        if postgres.running():
            postgres.stop()
