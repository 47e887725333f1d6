"""Glass-to-ear: from a DJ's microphone to the listener's page, with and without Low-Latency HLS.

    .venv/bin/python bench/latency/run.py [--markers 20] [--part-seconds 0.333]
        [--crossfade 2] [--buffer 0.25] [--modes ll,plain]

The production path on loopback: nginx (the rendered production templates, TLS), the stream
server for blocking reloads, one app replica (the page), and the station (in this process,
at real speed, with its live input). A DJ goes live with ffmpeg (`icecast://`, native FLAC),
fed raw PCM by this script in 10 ms steps as a sound card would: a quiet 440 Hz bed with a
0.3 s tone burst (the marker) every 2.5 s, cycling through six pitches (2.4 to 5.4 kHz) so
that a marker is never taken for an earlier one (up to 15 s of latency). Headless Chromium (Playwright) opens the page
through nginx and plays; a WebAudio analyser on the page's audio element samples the sound
every 25 ms. A marker's latency is the time from the moment its first sample was written to
ffmpeg to the first analyser sample that hears its pitch, both on this machine's wall clock.

Modes, the same page and stream: `ll` as served (parts, blocking reloads: hls.js in
low-latency mode); `plain`: the page with hls.js's lowLatencyMode turned off (a Playwright
route wraps the module), which plays the same playlists as a player without LL-HLS does:
whole segments, three target durations behind the live edge.
Prints each mode's median, p95 and max over --markers markers.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from radiocalico.station import Station  # noqa: E402
from radiocalico.station.live import LiveInput, LiveSettings  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.deploy.topology import Topology  # noqa: E402
from tests.station.audiofiles import write_pcm  # noqa: E402
from tests.station.test_live import PASSWORD, credentials  # noqa: E402

RATE = 48000
MARKER_HZ = (2400.0, 3000.0, 3600.0, 4200.0, 4800.0, 5400.0)
BED_HZ = 440.0
MARKER_SECONDS = 0.3
STEP = 480  # samples written at once: 10 ms, a sound card's period

PROBE = """() => {
  const audio = document.getElementById('audio');
  const ctx = new AudioContext();
  const source = ctx.createMediaElementSource(audio);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  analyser.connect(ctx.destination);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  window.__heard = [];
  setInterval(() => {
    analyser.getFloatFrequencyData(spectrum);
    let best = 1;
    for (let i = 1; i < spectrum.length; i += 1) if (spectrum[i] > spectrum[best]) best = i;
    window.__heard.push([Date.now(), best * ctx.sampleRate / analyser.fftSize, spectrum[best]]);
  }, 25);
  return ctx.state;
}"""


class Dj:
    """ffmpeg as DJ software, fed PCM in real time; notes when each marker was written."""

    def __init__(self, port: int, interval: float):
        self.interval = interval
        self.marks: list[tuple[float, float]] = []  # (wall time, pitch)
        self.stop = threading.Event()
        self.proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-nostdin", "-f", "s16le", "-ar", str(RATE), "-ac", "2", "-i", "pipe:0",
             "-c:a", "flac", "-frame_size", "960", "-content_type", "audio/flac", "-f", "flac", "-flush_packets", "1",
             f"icecast://dj:{PASSWORD}@127.0.0.1:{port}/live"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        period = int(self.interval * RATE)
        burst = int(MARKER_SECONDS * RATE)
        n = 0
        began = time.monotonic()
        while not self.stop.is_set():
            t = np.arange(n, n + STEP)
            in_period = t % period
            marker = in_period < burst
            pitch = np.array(MARKER_HZ)[(t // period) % len(MARKER_HZ)]
            tone = np.where(marker, 0.4 * np.sin(2 * np.pi * pitch * t / RATE),
                            0.05 * np.sin(2 * np.pi * BED_HZ * t / RATE))
            pcm = np.repeat((tone * 32767).astype("<i2")[:, None], 2, axis=1)
            due = began + n / RATE
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            starts = np.flatnonzero(in_period == 0)
            if len(starts):
                self.marks.append((time.time() + starts[0] / RATE, float(pitch[starts[0]])))
            try:
                self.proc.stdin.write(pcm.tobytes())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                return
            n += STEP

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.terminate()
        self.proc.wait(10)


def onsets(heard: list[list[float]], floor_db: float = -45.0) -> list[tuple[float, float]]:
    """(wall time in s, pitch) at which a marker's tone starts being heard."""
    out, was = [], None
    for t, f, level in heard:
        now = next((p for p in MARKER_HZ if abs(f - p) < 120), None) if level > floor_db else None
        if now is not None and now != was:
            out.append((t / 1000.0, now))
        was = now
    return out


def latencies(marks: list[tuple[float, float]], heard: list[tuple[float, float]]) -> list[float]:
    window = len(MARKER_HZ) * 2.5
    result = []
    for mark, pitch in marks:
        later = [h - mark for h, p in heard if p == pitch and 0 < h - mark < window]
        if later:
            result.append(min(later))
    return result


def without_ll(route) -> None:
    """The page's hls.js with lowLatencyMode off: a player without Low-Latency HLS (it plays
    whole segments, three target durations behind the live edge, with plain reloads)."""
    route.fulfill(content_type="text/javascript", body=(
        f'import Hls from "{route.request.url}?original";\n'
        "export default class PlainHls extends Hls {\n"
        "  constructor(config = {}) { super({ ...config, lowLatencyMode: false }); }\n"
        "}\n"))


def shown_latency(page) -> float | None:
    match = re.search(r"([\d.]+) s", page.inner_text("#latency"))
    return float(match.group(1)) if match else None


def measure(browser, url: str, dj: Dj, markers: int, mode: str, settle: float) -> tuple[list[float], float]:
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and errors.append(m.text[:160]))
    page.on("requestfailed", lambda r: errors.append(f"{r.url.rsplit('/', 1)[-1]}: {r.failure}"))
    if mode == "plain":
        page.route(re.compile(r".*/hls\.light\.min\.mjs$"), without_ll)
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30000)
    page.click("#play")
    page.wait_for_function("() => !document.getElementById('audio').paused && "
                           "document.getElementById('audio').currentTime > 1", timeout=30000)
    page.evaluate(PROBE)
    # Settle: the player starts a little further back and catches up (at most 1.05x); the
    # figures are for a listener who has been listening a while. Wait until the latency the
    # page shows stops falling (two readings 5 s apart within 0.1 s), at most `settle` s.
    first = shown_latency(page)
    deadline = time.monotonic() + settle
    previous = first
    while time.monotonic() < deadline:
        time.sleep(5)
        now = shown_latency(page)
        if previous is not None and now is not None and previous - now < 0.1:
            break
        previous = now
    settled = page.inner_text("#latency")
    print(f"  {mode}: the page showed {first} s after starting, {settled!r} "
          f"{settle - max(0.0, deadline - time.monotonic()):.0f} s later")
    start = time.time()
    count0 = len(dj.marks)
    deadline = time.monotonic() + markers * dj.interval + 15
    while time.monotonic() < deadline and len(dj.marks) - count0 < markers:
        time.sleep(0.5)
    time.sleep(10)  # the last marker reaches the ear
    heard = page.evaluate("() => window.__heard")
    shown = page.inner_text("#latency")
    rate = page.evaluate("() => document.getElementById('audio').playbackRate")
    context.close()
    marks = [m for m in dj.marks[count0:count0 + markers] if m[0] >= start]
    found = latencies(marks, onsets(heard))
    print(f"  {mode}: page showed {settled!r} at the first marker, {shown!r} at the end, playback rate {rate}; "
          f"{len(found)} of {len(marks)} markers heard ({len(onsets(heard))} tone onsets, {len(heard)} samples)")
    if errors:
        print(f"  {mode}: the page logged {len(errors)} errors, e.g. {errors[:3]}")
    return found, rate


def summary(values: list[float]) -> str:
    if not values:
        return "no marker heard"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (f"median {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, min {ordered[0]:.2f} s, "
            f"max {ordered[-1]:.2f} s (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markers", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.5)
    parser.add_argument("--segment-seconds", type=float, default=2.0)
    parser.add_argument("--part-seconds", type=float, default=0.333)
    parser.add_argument("--crossfade", type=float, default=2.0)
    parser.add_argument("--buffer", type=float, default=0.25)
    parser.add_argument("--modes", default="ll,plain")
    parser.add_argument("--settle", type=float, default=90.0,
                        help="longest wait for the player to settle at its latency before the markers count")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="rc-latency-"))
    topology = Topology(root, database_url=f"sqlite:///{root}/app.sqlite3", replicas=1, workers=1, station=False)
    station = dj = None
    try:
        lib = root / "library"
        lib.mkdir()
        t = np.arange(30 * RATE) / RATE
        bed = np.round(np.sin(2 * np.pi * 330 * t)[:, None].repeat(2, 1) * 0.3 * (1 << 23)).astype(np.int32)
        write_pcm(lib / "rotation.flac", bed, RATE, 24, "flac", "flac")
        live = LiveInput(LiveSettings(port=0, crossfade_seconds=args.crossfade, buffer_seconds=args.buffer,
                                      silence_seconds=600), credentials, None)
        station = Station(lib, topology.stream_out, segment_seconds=args.segment_seconds,
                          part_seconds=args.part_seconds, live=live, seed=1)
        station.start()
        topology.start_stream_server()
        topology.start()
        import os
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; segments "
              f"{station.segment_seconds:.3f} s, parts {(station.part_samples or 0) / RATE:.3f} s; "
              f"live crossfade {args.crossfade} s, jitter buffer {args.buffer} s")
        dj = Dj(live.port, args.interval)
        time.sleep(6)  # on air
        results = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for mode in args.modes.split(","):
                results[mode], _ = measure(browser, topology.url, dj, args.markers, mode, args.settle)
            browser.close()
        for mode, values in results.items():
            label = "with LL-HLS   " if mode == "ll" else "without LL-HLS"
            print(f"glass-to-ear {label}: {summary(values)}")
    finally:
        if dj is not None:
            dj.close()
        if station is not None:
            station.stop()
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
