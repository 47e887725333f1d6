"""X-Forwarded-For is believed only from our own proxy, as configured."""

from __future__ import annotations

import requests

from tests.api.conftest import fingerprint, play, song


def vote_statuses(server, forwarded_for: list[str]) -> list[int]:
    base_url, statuses = server.url, []
    for n, address in enumerate(forwarded_for):
        track = song("Artist", f"Song {n}")
        play(server.app, track)
        http = requests.Session()
        # The listener token comes from the same (claimed) address.
        http.get(f"{base_url}/api/listener", headers={"X-Forwarded-For": address})
        statuses.append(
            http.put(
                f"{base_url}/api/ratings/{track['id']}/vote",
                json={"value": "up", "artist": track["artist"], "title": track["title"]},
                headers={
                    "X-Forwarded-For": address,
                    # A new listener each time: only the per-address limit can bite.
                    "X-Listener-Fingerprint": fingerprint(f"listener {n}"),
                },
            ).status_code
        )
    return statuses


def test_a_forged_forwarded_for_does_not_change_the_client(make_app, make_live_server):
    server = make_live_server(make_app(ratelimit_votes_per_ip="3/minute"))
    forged = ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "198.51.100.9"]
    # Every request comes from 127.0.0.1 whatever the header says: the 4th is limited.
    assert vote_statuses(server, forged) == [200, 200, 200, 429, 429]


def test_behind_one_trusted_proxy_the_forwarded_address_counts(make_app, make_live_server):
    server = make_live_server(
        make_app(ratelimit_votes_per_ip="3/minute", trusted_proxy_hops=1,
                 trusted_proxies=("127.0.0.1/32",))
    )
    # Our proxy appends the real address last; a client-sent prefix is ignored.
    spoofed = [f"6.6.6.6, 203.0.113.{n}" for n in range(5)]
    assert vote_statuses(server, spoofed) == [200] * 5
    same_client = ["1.1.1.1, 198.51.100.7", "2.2.2.2, 198.51.100.7", "198.51.100.7",
                   "3.3.3.3, 198.51.100.7"]
    assert vote_statuses(server, same_client) == [200, 200, 200, 429]


def test_the_header_is_ignored_from_an_address_that_is_not_our_proxy(make_app, make_live_server):
    """Finding 2: with TRUSTED_PROXY_HOPS=1 and the app reached directly, forged
    X-Forwarded-For addresses were all believed."""
    server = make_live_server(make_app(ratelimit_votes_per_ip="3/minute", trusted_proxy_hops=1,
                                       trusted_proxies=("10.0.0.0/8",)))
    forged = [f"203.0.113.{n}" for n in range(5)]
    assert vote_statuses(server, forged) == [200, 200, 200, 429, 429]


def test_hops_without_proxy_addresses_refuse_to_start():
    import pytest

    from radiocalico.config import Config

    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Config(trusted_proxy_hops=1)
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Config(trusted_proxy_hops=1, trusted_proxies=("not-a-network",))
