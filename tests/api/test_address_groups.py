"""Per-address quotas count an IPv6 subscriber's whole network, not each address in it.

Finding 6 (hardening, second round): listener tokens and sign-ups were limited per exact
address, so a client handed an IPv6 /64 (every home and phone is) took a new address from
it for each request and was never limited. The app is reached as nginx reaches it: over
a socket from the trusted proxy, which sets X-Forwarded-For to the client's address."""

from __future__ import annotations

import pytest
import requests

from radiocalico.config import Config

BEHIND_OUR_PROXY = dict(trusted_proxy_hops=1, trusted_proxies=("127.0.0.1/32",))


def _token_statuses(url: str, addresses: list[str]) -> list[int]:
    """A new browser (no token yet) from each address asks for a listener token."""
    return [requests.get(f"{url}/api/listener", headers={"X-Forwarded-For": address}).status_code
            for address in addresses]


def _sign_up_statuses(url: str, addresses: list[str], prefix: str) -> list[int]:
    return [
        requests.post(f"{url}/api/users", headers={"X-Forwarded-For": address}, json={
            "username": f"{prefix}{n}", "email": f"{prefix}{n}@example.com",
            "password": "tuba river lantern"}).status_code
        for n, address in enumerate(addresses)
    ]


def test_listener_tokens_are_limited_per_ipv6_64_not_per_address(make_app, make_live_server):
    url = make_live_server(make_app(ratelimit_listener_tokens="3/hour", **BEHIND_OUR_PROXY)).url
    one_home = [f"2001:db8:1:2::{n:x}" for n in range(1, 6)]  # five addresses of one /64
    assert _token_statuses(url, one_home) == [200, 200, 200, 429, 429]
    # The neighbour's /64 has its own quota; so has an IPv4 client.
    assert _token_statuses(url, ["2001:db8:1:3::1", "203.0.113.9"]) == [200, 200]


def test_sign_ups_are_limited_per_ipv6_64_not_per_address(make_app, make_live_server):
    url = make_live_server(make_app(ratelimit_signups="2/hour", **BEHIND_OUR_PROXY)).url
    one_home = ["2001:db8:5:6::1", "2001:db8:5:6:aaaa:bbbb:cccc:dddd", "2001:db8:5:6::ffff"]
    assert _sign_up_statuses(url, one_home, "home") == [201, 201, 429]
    assert _sign_up_statuses(url, ["2001:db8:5:7::1"], "neighbour") == [201]


def test_the_prefix_is_configurable(make_app, make_live_server):
    # A provider handing each subscriber a /56: the whole /56 is one client.
    url = make_live_server(make_app(ratelimit_listener_tokens="2/hour", client_ipv6_prefix=56,
                                    **BEHIND_OUR_PROXY)).url
    assert _token_statuses(url, ["2001:db8:9:100::1", "2001:db8:9:1ff::1", "2001:db8:9:1aa::1",
                                 "2001:db8:9:200::1"]) == [200, 200, 429, 200]
    # 128: each address alone, as before.
    url = make_live_server(make_app(ratelimit_listener_tokens="1/hour", client_ipv6_prefix=128,
                                    **BEHIND_OUR_PROXY)).url
    assert _token_statuses(url, ["2001:db8:9:1::1", "2001:db8:9:1::2", "2001:db8:9:1::2"]) == \
        [200, 200, 429]


def test_a_prefix_out_of_range_is_one_clear_start_up_line():
    with pytest.raises(ValueError, match="CLIENT_IPV6_PREFIX"):
        Config.from_env({"CLIENT_IPV6_PREFIX": "16"})
