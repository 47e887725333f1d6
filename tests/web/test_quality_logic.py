"""The quality ladder's decisions as pure functions, run in Chromium by importing the player's
modules into the page: Auto's start and its steps down and up (hysteresis), the engine
choice (hls.js, Safari's native HLS), the native program-date-time arithmetic, and which hls.js
level is which rendition (by URL, or inferred from CODECS/BANDWIDTH without `renditions`)."""

from __future__ import annotations

import pytest

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]


def run(page, server, body: str, arg=None):
    """Evaluate `body` (an async function of (modules, arg)) with the modules imported."""
    # A blank page on the player's origin: the modules, and no player running.
    page.route(server.url + "/blank", lambda route: route.fulfill(
        body='<!doctype html><title>blank</title><link rel="icon" href="data:,">', content_type="text/html"))
    goto(page, server.url + "/blank")
    return page.evaluate(
        """async ([body, arg]) => {
          const m = {
            auto: await import('/static/auto.js'),
            engine: await import('/static/engine.js'),
            ladder: await import('/static/ladder.js'),
          };
          return (new Function('m', 'arg', `return (async () => { ${body} })()`))(m, arg);
        }""",
        [body, arg],
    )


RUNGS = "const rungs = [{name: 'lossless', bandwidth: 2160000}, {name: 'high', bandwidth: 258000}, {name: 'saver', bandwidth: 99000}];"


def test_auto_starts_with_the_best_rung_the_bandwidth_sustains_with_margin(page, station_server):
    starts = run(page, station_server, RUNGS + """
      const start = (bw) => new m.auto.AutoPolicy(rungs).start(bw);
      return [start(NaN), start(500000), start(2160000 * 1.5 - 1), start(2160000 * 1.5), start(100000), start(50e6)];
    """)
    assert starts == ["saver", "high", "high", "lossless", "saver", "lossless"]


def test_auto_steps_down_on_sustained_stalls_but_not_on_a_blip(page, station_server):
    result = run(page, station_server, RUNGS + """
      const p = new m.auto.AutoPolicy(rungs);
      p.start(50e6);
      const out = [];
      p.stalled(1000);                          // one stall: a blip
      out.push(p.observe(2000, 50e6));
      p.stalled(40000);                         // the first one is long forgotten
      out.push(p.observe(41000, 50e6));
      p.stalled(50000);                         // two within 30 s: step down, one rung
      out.push(p.observe(51000, 50e6));
      // A short dip of the bandwidth below the playing rung's BANDWIDTH is a blip too.
      out.push(p.observe(52000, 100000), p.observe(54000, 50e6));
      // Below it for 4 s: down again.
      out.push(p.observe(60000, 200000), p.observe(62000, 200000), p.observe(64000, 200000));
      out.push(p.observe(70000, 200000)); // nothing below saver
      return out;
    """)
    assert result == [None, None, "high", None, None, None, None, "saver", None]


def test_auto_steps_up_only_after_sustained_bandwidth_and_a_cooldown(page, station_server):
    result = run(page, station_server, RUNGS + """
      const p = new m.auto.AutoPolicy(rungs);
      const out = [p.start(500000)];            // high
      out.push(p.observe(0, 50e6), p.observe(3000, 50e6));
      out.push(p.observe(4000, 1e6));           // the better rung is no longer sustained
      out.push(p.observe(5000, 50e6), p.observe(10000, 50e6), p.observe(11000, 50e6));  // 6 s held: up
      // After a step down (stalls), no step up for 30 s however good the bandwidth.
      p.stalled(12000); p.stalled(13000);
      out.push(p.observe(14000, 50e6));         // down to high
      out.push(p.observe(30000, 50e6), p.observe(43000, 50e6), p.observe(44500, 50e6));
      return out;
    """)
    assert result == ["high", None, None, None, None, None, "lossless", "high", None, None, "lossless"]


def test_engine_choice_and_native_program_date_time(page, station_server):
    result = run(page, station_server, """
      const e = m.engine;
      return {
        chrome: e.chooseEngine({mse: true, managedMse: false, nativeHls: false}),
        safariMac: e.chooseEngine({mse: true, managedMse: true, nativeHls: true}),
        iphone17: e.chooseEngine({mse: false, managedMse: true, nativeHls: true}),
        oldIphone: e.chooseEngine({mse: false, managedMse: false, nativeHls: true}),
        nothing: e.chooseEngine({mse: false, managedMse: false, nativeHls: false}),
        pdt: e.playingDateNative(new Date(Date.UTC(2024, 0, 1, 12, 0, 0)), 12.5),
        unknownStart: e.playingDateNative(new Date(NaN), 12.5),
        zeroStart: e.playingDateNative(new Date(0), 3),
        noStart: e.playingDateNative(undefined, 3),
        browser: e.browserMedia(document.createElement('audio')),
      };
    """)
    assert result["chrome"] == "hls.js" and result["safariMac"] == "hls.js" and result["iphone17"] == "hls.js"
    assert result["oldIphone"] == "native"
    assert result["nothing"] == "none"
    assert result["pdt"] == 1704110400000 + 12500
    assert result["unknownStart"] is None and result["zeroStart"] is None and result["noStart"] is None
    assert result["browser"]["mse"] is True and result["browser"]["flac"] is True


STATION_LEVELS = """
  // As hls.js lists them: sorted by bandwidth, URLs absolute.
  const levels = [
    {url: ['http://x/stream/hls/live_saver.m3u8'], bitrate: 98745, attrs: {CODECS: 'mp4a.40.2', 'AVERAGE-BANDWIDTH': '99000'}},
    {url: ['http://x/stream/hls/live_high.m3u8'], bitrate: 258549, attrs: {CODECS: 'mp4a.40.2', 'AVERAGE-BANDWIDTH': '258000'}},
    {url: ['http://x/stream/hls/live_flac.m3u8?x=1'], bitrate: 2159720, attrs: {CODECS: 'fLaC'}},
  ];
  const renditions = [
    {name: 'lossless', codec: 'flac', codecs: 'fLaC', bitrate: null, sample_rate: 48000, bit_depth: 24, channels: 2, playlist: 'live_flac.m3u8'},
    {name: 'high', codec: 'aac', codecs: 'mp4a.40.2', bitrate: 256000, sample_rate: 48000, bit_depth: null, channels: 2, playlist: 'live_high.m3u8'},
    {name: 'saver', codec: 'aac', codecs: 'mp4a.40.2', bitrate: 96000, sample_rate: 48000, bit_depth: null, channels: 2, playlist: 'live_saver.m3u8'},
  ];
"""


def test_levels_are_matched_to_renditions_by_url_not_index(page, station_server):
    result = run(page, station_server, STATION_LEVELS + """
      const L = m.ladder;
      const ladder = L.buildLadder(levels, renditions);
      // Without the FLAC level (a browser without FLAC in MSE): the others keep their names.
      const withoutFlac = L.buildLadder(levels.slice(0, 2), renditions);
      return {
        ladder: ladder.map((r) => [r.name, r.level, L.describe(r)]),
        withoutFlac: withoutFlac.map((r) => [r.name, r.level]),
      };
    """)
    assert result["ladder"] == [
        ["lossless", 2, "Lossless · FLAC 48 kHz / 24-bit"],
        ["high", 1, "High · AAC 256 kbit/s"],
        ["saver", 0, "Data saver · AAC 96 kbit/s"],
    ]
    assert result["withoutFlac"] == [["high", 1], ["saver", 0]]


def test_the_ladder_is_inferred_from_codecs_and_bandwidth_without_renditions(page, station_server):
    """The public CDN's shape: its own variant names, several codecs, no `renditions`."""
    result = run(page, station_server, """
      const L = m.ladder;
      const levels = [
        {url: ['https://cdn/hls/aac_lo/index.m3u8'], bitrate: 70000, attrs: {CODECS: 'mp4a.40.5', 'AVERAGE-BANDWIDTH': '64000'}},
        {url: ['https://cdn/hls/aac_hi/index.m3u8'], bitrate: 140000, attrs: {CODECS: 'mp4a.40.2', 'AVERAGE-BANDWIDTH': '128000'}},
        {url: ['https://cdn/hls/flac/index.m3u8'], bitrate: 1500000, attrs: {CODECS: 'fLaC'}},
      ];
      const stream = {sampleRate: 48000, bitDepth: 24};
      return {
        full: L.buildLadder(levels, null, stream).map((r) => [r.name, r.level, L.describe(r)]),
        oneLossy: L.buildLadder(levels.slice(1), null, null).map((r) => [r.name, r.level, L.describe(r)]),
        empty: L.buildLadder(levels, []).map((r) => r.name),
      };
    """)
    assert result["full"] == [
        ["lossless", 2, "Lossless · FLAC 48 kHz / 24-bit"],
        ["high", 1, "High · AAC 128 kbit/s"],
        ["saver", 0, "Data saver · AAC 64 kbit/s"],
    ]
    assert result["oneLossy"] == [["lossless", 1, "Lossless · FLAC"], ["high", 0, "High · AAC 128 kbit/s"]]
    assert result["empty"] == ["lossless", "high", "saver"]


TWO_ORIGINS = """
  // The station with STATION_ORIGINS: each rendition once per origin, same BANDWIDTH and
  // CODECS; hls.js sorts by bandwidth and keeps the master's order between equals.
  const copy = (level, origin) => ({...level, url: [level.url[0].replace('http://x/stream/', `http://x/${origin}/`)]});
  const redundant = levels.flatMap((level) => [copy(level, 'a'), copy(level, 'b')]);
"""


def test_a_rung_is_every_redundant_copy_of_its_rendition_and_any_copy_maps_back_to_it(page, station_server):
    result = run(page, station_server, STATION_LEVELS + TWO_ORIGINS + """
      const L = m.ladder;
      const ladder = L.buildLadder(redundant, renditions);
      const inferred = L.buildLadder(redundant, null, {sampleRate: 48000, bitDepth: 24});
      return {
        ladder: ladder.map((r) => [r.name, r.level, r.levels]),
        inferred: inferred.map((r) => [r.name, r.levels]),
        heard: redundant.map((_l, i) => L.rungOf(ladder, i)?.name),
        unknown: L.rungOf(ladder, 6),
        redundant: [L.hasRedundantCopies(redundant), L.hasRedundantCopies(levels)],
      };
    """)
    assert result["ladder"] == [["lossless", 4, [4, 5]], ["high", 2, [2, 3]], ["saver", 0, [0, 1]]]
    # Without `renditions` too: two copies of one AAC variant are not High and Data saver.
    assert result["inferred"] == [["lossless", [4, 5]], ["high", [2, 3]], ["saver", [0, 1]]]
    assert result["heard"] == ["saver", "saver", "high", "high", "lossless", "lossless"]
    assert result["unknown"] is None
    assert result["redundant"] == [True, False]


def test_a_switch_goes_to_the_copy_on_the_origin_that_works(page, station_server):
    """After hls.js failed over from origin a to b (the level it loads is b's, a's copy has a
    load error), a change of rung stays on b; with nothing loading yet, the first listed."""
    result = run(page, station_server, STATION_LEVELS + TWO_ORIGINS + """
      const L = m.ladder;
      const [lossless, high] = L.buildLadder(redundant, renditions);
      const failedA = redundant.map((level, i) => ({...level, loadError: i === 4 ? 1 : 0}));
      return {
        fromB: L.copyNear(high, failedA, 5),
        fromA: L.copyNear(high, redundant, 4),
        nothingLoading: L.copyNear(high, redundant, -1),
        // hls.js went to the other rung's copy on the dead origin: the answering copy wins.
        awayFromTheError: L.copyNear(lossless, failedA, 2),
      };
    """)
    assert result == {"fromB": 3, "fromA": 2, "nothingLoading": 2, "awayFromTheError": 5}
