"""Finding 2, in the production topology: a client reaching a replica directly (not through
nginx) cannot choose its address with X-Forwarded-For."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


def _sign_in_from(app_url: str, source: str, forwarded_for: str) -> int:
    parts = urlsplit(app_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("POST", "/api/users/session",
                     body=json.dumps({"login": "nobody", "password": "wrong"}),
                     headers={"Content-Type": "application/json",
                              "X-Forwarded-For": forwarded_for})
        return conn.getresponse().status
    finally:
        conn.close()


def test_forged_forwarded_for_from_outside_the_proxy_is_ignored(topology):
    # The replicas trust 127.0.0.1 (nginx) only; 127.0.0.2 is "the internet" here.
    # RATELIMIT_AUTH is 5/minute in this topology: forged addresses must not reset it.
    statuses = [_sign_in_from(topology.app_url(0), "127.0.0.2", f"198.51.100.{n}")
                for n in range(8)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
