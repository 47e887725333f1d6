"""What a listener on a metered link pays for opening the player: the page through nginx
(TLS, HTTP/2, gzip), in headless Chromium, costs at most PAGE_BUDGET_KIB on the wire before
Play (tests/deploy/page_weight.py measures; bench/player/weight.py prints the figures)."""

from __future__ import annotations

import pytest

from tests.conftest import POSTGRES_URL, require
from tests.deploy.page_weight import weight_before_play
from tests.deploy.topology import Topology, drop_schema, schema_url

pytestmark = pytest.mark.browser

# Where it goes (KiB, bench/player/weight.py, 2026-12-02): hls.js 117 (gzip; it is needed
# the moment Play is pressed, so it loads with the page), our scripts 19 (one minified
# bundle and its chunks; 77 as forty source modules), the five font faces on show 63 (cut
# to the characters the page shows; 95 before), the cover 21, the logo 6, the rest 20: 246.
PAGE_BUDGET_KIB = 250
# Tracks of minutes, as on air: the session's topology plays 6 s tracks, and a track change
# during the load would fetch a second cover (21 KiB) that no listener pays for.
TRACK_SECONDS = 120.0


@pytest.fixture(scope="module")
def on_air(tmp_path_factory, nginx_binary, postgres_available, redis_url):
    """nginx, one app replica and the station, with tracks as long as real ones."""
    require(postgres_available, f"PostgreSQL is not reachable at {POSTGRES_URL}")
    database, schema = schema_url(POSTGRES_URL)
    topology = Topology(tmp_path_factory.mktemp("weight"), database, redis_url, replicas=1,
                        workers=1, track_seconds=TRACK_SECONDS)
    try:
        yield topology.start()
    finally:
        topology.stop()
        drop_schema(POSTGRES_URL, schema)


def test_the_page_before_play_stays_within_its_budget(on_air, browser):
    weight = weight_before_play(browser, on_air.url, ignore_https_errors=True)
    kib = {kind: round(size / 1024, 1) for kind, size in weight.items()}
    assert weight["total"] <= PAGE_BUDGET_KIB * 1024, kib
