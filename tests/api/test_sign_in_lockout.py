"""Guessing an account's password does not lock its owner out of a browser they used.

Finding 6 (hardening, second round): ten wrong sign-ins a minute, from anywhere, locked
the owner out: the per-account limit refused the right password too. Now a browser the
account signed in on keeps a limit of its own (api/known_devices.py); the trade-off, a new
browser waits like everyone else while the account is under attack, is pinned here too.
The guesses come from many addresses (X-Forwarded-For from the trusted proxy, as nginx
sends it), so only the per-account limit can stop them."""

from __future__ import annotations

import requests

from tests.api.test_users import PASSWORD, Account

WRONG = "not my password at all"


def _app_url(make_app, make_live_server) -> str:
    return make_live_server(make_app(ratelimit_password="4/minute", ratelimit_auth="1000/minute",
                                     trusted_proxy_hops=1, trusted_proxies=("127.0.0.1/32",))).url


def _sign_in(http: requests.Session, url: str, login: str, password: str, address: str) -> int:
    return http.post(f"{url}/api/users/session", json={"login": login, "password": password},
                     headers={"X-Forwarded-For": address}).status_code


def _guess(url: str, login: str, tries: int, http: requests.Session | None = None) -> list[int]:
    """Wrong passwords, each from an address (and a browser) of its own."""
    return [_sign_in(http or requests.Session(), url, login, WRONG, f"198.51.100.{n + 1}")
            for n in range(tries)]


def test_guesses_from_everywhere_do_not_lock_the_owner_out_of_a_known_browser(
    make_app, make_live_server
):
    url = _app_url(make_app, make_live_server)
    owner = Account(url)
    assert owner.register("olive", "olive@example.com").status_code == 201
    owner.http.delete(f"{url}/api/users/session", headers={"X-CSRF-Token": owner.csrf})
    assert _guess(url, "olive", 6) == [401] * 4 + [429] * 2  # the account is being guessed
    # The owner, on the browser they signed up on, by username or e-mail address.
    assert _sign_in(owner.http, url, "olive", PASSWORD, "203.0.113.5") == 200
    assert _sign_in(owner.http, url, "OLIVE@example.com", PASSWORD, "203.0.113.5") == 200
    # The trade-off: a browser the account never signed in on waits like everyone else.
    assert _sign_in(requests.Session(), url, "olive", PASSWORD, "203.0.113.6") == 429


def test_a_known_browser_is_no_way_around_the_limit(make_app, make_live_server):
    url = _app_url(make_app, make_live_server)
    Account(url).register("victor", "victor@example.com")
    attacker = Account(url)
    attacker.register("mallory", "mallory@example.com")  # a device cookie of its own account
    # That browser is known for mallory, not for victor: it shares victor's limit.
    assert _guess(url, "victor", 5, http=attacker.http) == [401] * 4 + [429]
    assert _sign_in(requests.Session(), url, "victor", PASSWORD, "203.0.113.7") == 429
    # On its own device limit, a known browser is limited as tightly.
    assert _guess(url, "mallory", 5, http=attacker.http) == [401] * 4 + [429]
    # A forged device cookie is ignored.
    forged = requests.Session()
    forged.cookies.set("radiocalico_device", "eyJkIjoieCIsImEiOltdfQ.forged", path="/api/users")
    assert _guess(url, "victor", 1, http=forged) == [429]
