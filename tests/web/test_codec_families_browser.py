"""Codec families in headless Chromium against the real stack (`radiocalico serve`, 1 s
segments, FLAC + AAC renditions): what native HLS and AirPlay are offered, and switches
between FLAC and AAC without SourceBuffer.changeType (which WebKit cannot do)."""

from __future__ import annotations

import re

import m3u8
import pytest

from tests.web.test_player_browser import open_player, wait_progress
from tests.web.test_quality_browser import HIGH_SEGMENT, LOSSLESS_SEGMENT, SAVER_SEGMENT, shown, wait_shown

pytestmark = [pytest.mark.browser]

HLS_TYPE = "application/vnd.apple.mpegurl"
# The player's probe: can this engine change codec (FLAC -> AAC) inside one MediaSource?
PROBE = "() => import('/static/codec-probe.js').then((m) => m.canChangeCodec())"


def test_native_hls_and_airplay_are_offered_an_aac_only_master(page, station_server):
    open_player(page, station_server, play=False)
    page.wait_for_selector(f'#audio source[type="{HLS_TYPE}"]', state="attached")
    offered = page.evaluate(f"""() => {{
      const audio = document.getElementById('audio');
      const sources = audio.querySelectorAll('source[type="{HLS_TYPE}"]');
      return {{count: sources.length, src: sources[0].src, remote: audio.disableRemotePlayback,
               airplay: audio.getAttribute('x-webkit-airplay')}};
    }}""")
    assert offered["count"] == 1 and not offered["remote"] and offered["airplay"] == "allow"
    master = m3u8.loads(page.request.get(offered["src"]).text())
    assert master.is_variant and master.playlists
    assert all(v.stream_info.codecs == "mp4a.40.2" for v in master.playlists)
    # Chromium changes codec inside one MediaSource: its switches stay there (the probe says so).
    assert page.evaluate(PROBE) is True


# What WebKit does, in Chromium: an engine without SourceBuffer.changeType, or one whose
# changeType fails (WebKitGTK loses the SourceBuffer).
WITHOUT_CHANGE_TYPE = {
    "absent": """for (const name of ['SourceBuffer', 'ManagedSourceBuffer']) {
      if (window[name]) delete window[name].prototype.changeType;
    }""",
    "failing": """for (const name of ['SourceBuffer', 'ManagedSourceBuffer']) {
      if (window[name]) window[name].prototype.changeType = function () {
        throw new DOMException('audio SourceBuffer error', 'InvalidStateError');
      };
    }""",
}

# Every media element the page plays is tapped (once) into one AudioContext, and a
# ScriptProcessor (256 frames, ~5 ms) records each stretch of silence over 15 ms that
# happens while the page wants sound.
SILENCE_TAP = """(() => {
  let ctx = null, sink = null;
  window.__silences = [];
  window.__heard = 0; // ms of sound measured
  window.__silentFor = () => 0; // the silence going on now, ms
  const tapped = new WeakSet();
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    if (!tapped.has(this)) {
      tapped.add(this);
      if (!ctx) {
        ctx = new AudioContext();
        sink = ctx.createScriptProcessor(256, 2, 2);
        let silentSince = null;
        sink.onaudioprocess = (e) => {
          const data = e.inputBuffer.getChannelData(0);
          let sum = 0;
          for (const v of data) sum += v * v;
          const rms = Math.sqrt(sum / data.length);
          const now = e.playbackTime * 1000;
          if (!window.__measure) { silentSince = null; return; }
          window.__silentFor = () => (silentSince === null ? 0 : now - silentSince);
          if (rms < 0.003) silentSince ??= now;
          else window.__heard += e.inputBuffer.duration * 1000;
          if (rms >= 0.003 && silentSince !== null) {
            if (now - silentSince > 15) window.__silences.push(now - silentSince);
            silentSince = null;
          }
        };
        sink.connect(ctx.destination);
      }
      ctx.createMediaElementSource(this).connect(sink);
    }
    return play.apply(this, args);
  };
})();"""

LOSSLESS = "Lossless · FLAC 48 kHz / 24-bit"
SAVER = "Data saver · AAC 96 kbit/s"
HIGH = "High · AAC 256 kbit/s"
SILENCE_BOUND_MS = 50
ALIGN_MS = 20  # handover.js's


@pytest.mark.parametrize("engine", sorted(WITHOUT_CHANGE_TYPE))
def test_codec_family_switches_without_change_type(page, station_server, engine):
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    handovers: list[str] = []
    page.on("console", lambda m: m.text.startswith("Handed over") and handovers.append(m.text))
    page.add_init_script(WITHOUT_CHANGE_TYPE[engine])
    page.add_init_script(SILENCE_TAP)
    page.add_init_script("localStorage.setItem('radiocalico.quality', 'high')")
    open_player(page, station_server)
    assert page.evaluate(PROBE) is False
    wait_shown(page, HIGH)
    wait_progress(page, 2.0)
    page.evaluate("() => { window.__measure = true; }")
    for choice, label, pattern in (("lossless", LOSSLESS, LOSSLESS_SEGMENT), ("saver", SAVER, SAVER_SEGMENT),
                                   ("lossless", LOSSLESS, LOSSLESS_SEGMENT), ("high", HIGH, HIGH_SEGMENT)):
        before = len(seen)
        page.select_option("#quality-choice", choice)
        wait_shown(page, label, timeout=20000)
        assert any(pattern.search(u) for u in seen[before:]), f"no {choice} segment was requested"
        wait_progress(page, 2.0)
        # What is shown is what is heard: the one element in the page plays that family.
        assert page.evaluate("() => document.querySelectorAll('audio').length") == 1
        assert shown(page) == label
    heard, silences = page.evaluate(
        "() => { window.__measure = false; return [window.__heard, [...window.__silences, window.__silentFor()]]; }")
    assert heard > 8000, "the tap heard nothing: it measures nothing"
    assert max(silences) <= SILENCE_BOUND_MS, f"silences of {silences} ms across the switches"
    assert page.inner_text("#status") == ""
    # Crossfaded at the same moment of the music (within ALIGN_MS): nothing skipped or repeated.
    apart = [abs(int(re.search(r"crossfaded (-?\d+) ms apart", h).group(1))) for h in handovers]
    assert len(apart) == 4 and max(apart) <= ALIGN_MS, handovers


def test_the_media_slot_moves_listeners_and_place_to_the_new_element(page, station_server):
    """What the rest of the player holds across a handover: the audible element's
    properties, and listeners that follow it; a crossfade's volume steps are not the
    listener's volume."""
    open_player(page, station_server, play=False)
    result = page.evaluate("""async () => {
      const { MediaSlot } = await import('/static/handover.js');
      const old = document.createElement('audio');
      old.id = 'slot-test';
      document.body.append(old);
      const slot = new MediaSlot(old);
      const heard = [];
      slot.media.addEventListener('ping', (e) => heard.push(e.target === slot.element ? 'audible' : 'other'));
      slot.media.addEventListener('volumechange', () => heard.push('volume'));
      const next = document.createElement('audio');
      next.volume = 0.25;
      old.dispatchEvent(new Event('ping'));
      slot.quiet = true;
      old.volume = 0.5;
      await new Promise((r) => setTimeout(r, 0));
      slot.quiet = false;
      slot.swap(next);
      old.dispatchEvent(new Event('ping')); // no longer listened to
      next.dispatchEvent(new Event('ping'));
      slot.media.volume = 0.75;
      await new Promise((r) => setTimeout(r, 0));
      return {heard, volume: slot.media.volume, placed: document.getElementById('slot-test') === next,
              oldGone: !old.isConnected, canPlay: typeof slot.media.canPlayType('audio/mp4')};
    }""")
    assert result == {"heard": ["audible", "audible", "volume"], "volume": 0.75, "placed": True,
                      "oldGone": True, "canPlay": "string"}
