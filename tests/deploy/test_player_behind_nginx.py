"""The player, through nginx and under the edge's strict CSP, loads and plays the live
station in headless Chromium (the audio clock advances, nothing is blocked)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_player_plays_the_station_under_the_csp(topology, browser):
    # nginx's certificate is the self-signed one from deploy/gen-certs.sh.
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.add_init_script(
            "window.__cspViolations = [];"
            "document.addEventListener('securitypolicyviolation', e =>"
            " window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        # Loads that failed, but not those the page itself gave up on (ERR_ABORTED, e.g. a
        # metadata poll whose answer is dropped): a load the CSP blocks fails otherwise.
        failed: list[str] = []
        page.on("requestfailed", lambda r: "ERR_ABORTED" in (r.failure or "") or failed.append(r.url))
        scripts: list[str] = []
        page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)

        response = page.goto(topology.url + "/", wait_until="load")
        assert response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.click("#play")
        page.wait_for_function(
            "() => { const a = document.getElementById('audio');"
            " return !a.paused && a.currentTime > 1.5; }",
            timeout=30_000,
        )
        # The now-playing panel shows the station's metadata.
        page.wait_for_function(
            "() => document.getElementById('track-title').textContent.includes('Tone')",
            timeout=15_000,
        )
        # The library (split off the bundle, loaded when scrolled to) shows the plays.
        page.locator("#history-days").scroll_into_view_if_needed()
        page.wait_for_selector("#history-days .song", timeout=15_000)
        violations = page.evaluate("() => window.__cspViolations")
        assert violations == [], violations
        assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
        assert not [u for u in failed if "/stream/" in u or "/static/" in u], failed
        # Production serves the minified bundle (radiocalico.web.vendor): the source modules
        # are not fetched one by one.
        assert any(u.endswith("/static/script.js") for u in scripts), scripts
        assert not [u for u in scripts if u.endswith(("/playback.js", "/metadata.js"))], scripts
    finally:
        context.close()
