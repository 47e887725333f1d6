"""Finding 3 through the production edge: every password check (here, changing my password
with a wrong current one) is limited per account and per address, so guessing through nginx
meets a 429 in the API's JSON shape, and the replicas keep answering everyone else.

The test's client connects from 127.0.0.3 (a loopback address of its own), so the limits
it uses up are not the ones the other tests through nginx count against 127.0.0.1."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

ADDRESS = "127.0.0.3"
PASSWORD = "tuba river lantern"
TRIES = 14  # RATELIMIT_PASSWORD is 10/minute


class _FromAddress(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (ADDRESS, 0)
        super().init_poolmanager(*args, **kwargs)


def test_wrong_passwords_through_nginx_meet_429_while_health_answers(topology):
    guesser = topology.session()
    guesser.mount("https://", _FromAddress())
    signed_up = guesser.post(f"{topology.url}/api/users", timeout=15, json={
        "username": "edgeguess", "email": "edgeguess@example.org", "password": PASSWORD})
    assert signed_up.status_code == 201, signed_up.text
    csrf = guesser.get(f"{topology.url}/api/users/me", timeout=10).json()["csrf_token"]

    health: list[int] = []
    done = threading.Event()

    def watch_health() -> None:
        probe = topology.session()
        while not done.is_set():
            health.append(probe.get(f"{topology.url}/health", timeout=10).status_code)

    def guess(n: int) -> requests.Response:
        return guesser.patch(f"{topology.url}/api/users/me", timeout=30, headers={"X-CSRF-Token": csrf},
                             json={"current_password": f"guess number {n}", "new_password": "x" * 12 + "yz"})

    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(guess, range(TRIES)))
    finally:
        done.set()
        watcher.join()
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {403, 429, 503}, statuses
    assert 429 in statuses and statuses.count(403) <= 10, statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["Content-Type"] == "application/json"
    assert limited.json()["error"]["code"] == "rate_limited"
    assert health and set(health) == {200}, health
    # The right password is limited too now: guessing cannot go on by trying it last.
    assert guess(0).status_code == 429
