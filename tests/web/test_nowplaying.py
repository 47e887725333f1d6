"""The page's now-playing logic (static/nowplaying.js) in Chromium, driven by a stand-in for
playback so that moments which are rare on a live stream happen on demand."""

from __future__ import annotations

import pytest

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]

# A NowPlaying over a playback whose program-date-time and latency the test sets.
SETUP = """async () => {
  const { NowPlaying } = await import('/static/nowplaying.js');
  const audio = { readyState: 4, paused: false, playbackRate: 1, addEventListener() {} };
  const clock = { heard: 1000000, latency: null };
  const playback = { audio, playingDate: () => clock.heard, latency: () => clock.latency };
  window.__clock = clock;
  window.__np = new NowPlaying(playback);
  window.__track = (title) => ({ artist: 'A', title, start: null });
}"""


def test_a_change_learned_while_playback_starts_waits_for_the_latency(page, station_server):
    """Without start times (the public CDN), a track change the page learns of before it
    knows its latency is not shown until it can be placed one latency later."""
    goto(page, station_server.url + "/")
    page.evaluate(SETUP)
    result = page.evaluate("""() => {
      const np = window.__np, clock = window.__clock, track = window.__track;
      np.update({ tracks: [track('Old')], timed: false });
      np.update({ tracks: [track('New'), track('Old')], timed: false, uncertaintyMs: 0,
                  answeredAt: performance.now() });
      const whileStarting = np.shown.title;
      clock.latency = 3;
      np.tick();
      const placed = { shown: np.shown.title, startIn: np.known[0].start - clock.heard };
      clock.heard += 3100;
      np.tick();
      return { whileStarting, placed, after: np.shown.title };
    }""")
    assert result["whileStarting"] == "Old"
    assert result["placed"]["shown"] == "Old"
    assert 2800 <= result["placed"]["startIn"] <= 3000  # one latency after it entered
    assert result["after"] == "New"


def test_a_change_heard_long_ago_is_shown_at_once(page, station_server):
    """A change that entered the live edge more than a latency ago is already audible."""
    goto(page, station_server.url + "/")
    page.evaluate(SETUP)
    shown = page.evaluate("""() => {
      const np = window.__np, clock = window.__clock, track = window.__track;
      clock.latency = 3;
      np.update({ tracks: [track('Old')], timed: false });
      np.update({ tracks: [track('New'), track('Old')], timed: false, uncertaintyMs: 10000,
                  answeredAt: performance.now() - 500 });
      return np.shown.title;
    }""")
    assert shown == "New"
