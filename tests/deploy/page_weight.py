"""What the player page costs on the wire before the listener presses Play.

`weight_before_play` opens the page in a fresh Chromium context and sums, per resource type,
the bytes each response took on the wire (CDP `Network.loadingFinished` encodedDataLength:
headers plus the body as sent, compressed or not), from navigation until the page is ready,
shows the current track with its cover and fonts, and the network has been quiet for half a
second; nothing after Play. (A track change during the load adds its cover: the test
station's tracks last seconds, a real one's minutes.)
Used by tests/deploy/test_page_weight.py (the budget) and bench/player/weight.py (figures).
"""

from __future__ import annotations

import time

# CDP resource types, grouped as a listener's developer tools group them.
GROUPS = {"Script": "scripts", "Stylesheet": "styles", "Image": "images", "Font": "fonts"}
KINDS = ("scripts", "styles", "images", "fonts", "other")
# Responses still finishing when the network went quiet.
SETTLE_SECONDS = 0.3


def weight_before_play(browser, url: str, *, ignore_https_errors: bool = False) -> dict[str, int]:
    """Bytes on the wire per kind (KINDS) and "total", page load to just before Play."""
    context = browser.new_context(ignore_https_errors=ignore_https_errors,
                                  viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        kinds: dict[str, str] = {}
        sizes = dict.fromkeys(KINDS, 0)
        cdp.on("Network.responseReceived",
               lambda e: kinds.__setitem__(e["requestId"], GROUPS.get(e.get("type", ""), "other")))

        def finished(event):
            sizes[kinds.get(event["requestId"], "other")] += int(event["encodedDataLength"])

        cdp.on("Network.loadingFinished", finished)
        page.goto(url + "/", wait_until="load")
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.wait_for_function(
            "() => document.getElementById('track-title').textContent !== 'Tuning in…'",
            timeout=30_000)
        page.wait_for_function("() => document.getElementById('cover').complete", timeout=30_000)
        page.evaluate("() => document.fonts.ready.then(() => true)")
        page.wait_for_load_state("networkidle")
        time.sleep(SETTLE_SECONDS)
        page.evaluate("() => new Promise(requestAnimationFrame)")  # flush pending CDP events
        result = dict(sizes)
        result["total"] = sum(sizes.values())
        return result
    finally:
        context.close()
