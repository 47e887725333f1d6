"""Issue 21 (second round), through the production edge: ten wrong sign-ins a minute on an
account, from several addresses, locked its owner out. The owner's browser (one it signed
up on) now signs in at once; a browser the account never used still waits (the trade-off,
api/known_devices.py). The shipped RATELIMIT_PASSWORD (10/minute) is in force.

Each client connects from a loopback address of its own (127.0.0.20 and up), so the
per-address limits other tests through nginx count are not these."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

PASSWORD = "tuba river lantern"


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _browser(topology, address: str) -> requests.Session:
    http = topology.session()
    http.mount("https://", _FromAddress(address))
    return http


def _sign_in(http: requests.Session, topology, password: str) -> int:
    return http.post(f"{topology.url}/api/users/session", timeout=30,
                     json={"login": "lockedowner", "password": password}).status_code


def test_guesses_through_nginx_do_not_lock_the_owner_out_of_their_browser(topology):
    owner = _browser(topology, "127.0.0.20")
    signed_up = owner.post(f"{topology.url}/api/users", timeout=30, json={
        "username": "lockedowner", "email": "lockedowner@example.org", "password": PASSWORD})
    assert signed_up.status_code == 201, signed_up.text
    csrf = owner.get(f"{topology.url}/api/users/me", timeout=10).json()["csrf_token"]
    assert owner.delete(f"{topology.url}/api/users/session", timeout=10,
                        headers={"X-CSRF-Token": csrf}).status_code == 204

    # Three addresses, four guesses each: each address stays inside its own limits.
    guesses = [_sign_in(_browser(topology, f"127.0.0.{21 + n % 3}"), topology, f"guess {n}")
               for n in range(12)]
    assert guesses == [401] * 10 + [429] * 2, guesses

    assert _sign_in(owner, topology, PASSWORD) == 200
    assert owner.get(f"{topology.url}/api/users/me", timeout=10).status_code == 200
    stranger = _browser(topology, "127.0.0.24")  # the owner on a new browser
    refused = stranger.post(f"{topology.url}/api/users/session", timeout=30,
                            json={"login": "lockedowner", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
