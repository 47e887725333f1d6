"""What a listener on a metered link pays for opening the player: the page through nginx
(TLS, HTTP/2, gzip), in headless Chromium, costs at most PAGE_BUDGET_KIB on the wire before
Play (tests/deploy/page_weight.py measures; bench/player/weight.py prints the figures)."""

from __future__ import annotations

import pytest

from tests.deploy.page_weight import weight_before_play

pytestmark = pytest.mark.browser

# Where it goes (KiB, bench/player/weight.py, 2026-12-02): hls.js 117 (gzip; it is needed
# the moment Play is pressed, so it loads with the page), our scripts 67, the five font faces
# on show 95, the cover 21, the logo 6, the rest 20: 327 (389 before the fonts were one
# latin sheet per family, the logo a small WebP and the library loaded on demand). The test
# station's tracks last 6 s, so a load often sees a track change and fetches one or two
# more covers (21 each): the headroom is theirs.
PAGE_BUDGET_KIB = 375


def test_the_page_before_play_stays_within_its_budget(topology, browser):
    weight = weight_before_play(browser, topology.url, ignore_https_errors=True)
    kib = {kind: round(size / 1024, 1) for kind, size in weight.items()}
    assert weight["total"] <= PAGE_BUDGET_KIB * 1024, kib
