"""Two stations, one stream: the active one is SIGKILLed while listeners play through nginx.

Two `radiocalico station` processes (distinct output folders, one PostgreSQL schema, one
group) are epoch-locked; nginx serves both folders; the master playlist lists both as
redundant variants. Listeners play the lossless variant through nginx, failing over to the
next redundant URI when the one they play stops advancing. The test kills the active
station and checks what a listener and an operator would see: the standby publishes the
next segment within one segment duration, no listener's playback stalls for more than 2 s,
and both stations wrote the same bytes for every segment both made.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import av
import numpy as np
import pytest
from sqlalchemy import text

from radiocalico import stream_layout
from radiocalico.db import upgrade
from radiocalico.db.engine import make_engine
from radiocalico.station.epoch import renumber_flac_frame
from radiocalico.station.encoders import FlacEncoder
from tests.conftest import require
from tests.deploy.topology import NGINX
from tests.station.audiofiles import make_flac, noise_pcm
from tests.station.streamutil import parse_media_playlist, tfdt_of, wait_for

SEGMENT = 1.0
LOSSLESS = stream_layout.media_playlist_name("lossless")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_flac_frames_renumbered_decode_to_the_same_audio():
    """The frame number rewritten for the epoch's clock (CRCs and all) leaves the audio bit
    for bit, and renumbering back gives FFmpeg's frames again."""
    pcm = noise_pcm(0.5, 48000, 24, seed=3).astype("int32")
    pcm = pcm[:len(pcm) // 4000 * 4000]
    encoder = FlacEncoder(4000)
    frames = encoder.encode(pcm).frames
    renumbered = [renumber_flac_frame(frame, 2**31 - 3 + k) for k, frame in enumerate(frames)]
    assert renumbered[0] != frames[0]

    def decode(packets):
        decoder = av.CodecContext.create("flac", "r")
        decoder.extradata = encoder.streaminfo
        decoder.options = {"err_detect": "crccheck+explode"}  # a frame whose CRCs are wrong is refused
        return np.concatenate([f.to_ndarray().reshape(-1, 2) for p in packets for f in decoder.decode(av.Packet(p))])

    assert len(decode(renumbered)) == len(pcm)
    assert np.array_equal(decode(renumbered), decode(frames))
    assert [renumber_flac_frame(frame, k) for k, frame in enumerate(renumbered)] == frames
    broken = renumbered[0][:-1] + bytes([renumbered[0][-1] ^ 1])
    with pytest.raises(av.error.InvalidDataError):
        decode([broken])


class _Watcher(threading.Thread):
    """Hashes every lossless segment each station writes (before it is retired) and notes
    when each first appeared (its file's modification time)."""

    def __init__(self, outs: dict[str, Path]):
        super().__init__(daemon=True)
        self.outs = outs
        self.hashes: dict[str, dict[int, str]] = {name: {} for name in outs}
        self.written: dict[str, dict[int, float]] = {name: {} for name in outs}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.1):
            for name, out in self.outs.items():
                for path in (out / "hls").glob("seg-*.m4s"):
                    parts = path.stem.split("-")
                    if len(parts) != 3:  # (another rendition's)
                        continue
                    sequence = int(parts[2])
                    if sequence in self.hashes[name]:
                        continue
                    try:
                        data, mtime = path.read_bytes(), path.stat().st_mtime
                    except OSError:
                        continue
                    self.hashes[name][sequence] = hashlib.sha256(data).hexdigest()
                    self.written[name][sequence] = mtime


class _Listener(threading.Thread):
    """A player: loads the master playlist, plays the lossless variant's segments in order
    from a 3-segment buffer, decoding each with PyAV, and moves to the next redundant URI
    when the playlist it reloads has not advanced for 1.5 target durations (or fails)."""

    def __init__(self, master_url: str):
        super().__init__(daemon=True)
        self.master_url = master_url
        self.arrivals: list[tuple[int, float]] = []  # (sequence, wall time it was decoded)
        self.failovers: list[str] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self):
        master = urllib.request.urlopen(self.master_url, timeout=5).read().decode()
        uris = [line for line in master.splitlines() if line.endswith("/" + LOSSLESS)]
        current, next_sequence, advanced, init = 0, None, time.time(), {}
        while not self.stop.wait(0.25):
            uri = uris[current]
            try:
                playlist = parse_media_playlist(urllib.request.urlopen(uri, timeout=2).read().decode())
            except OSError as exc:
                playlist, error = None, str(exc)
            fresh = []
            if playlist is not None:
                if next_sequence is None:
                    next_sequence = playlist.entries[-3].sequence  # three segments from the live edge
                fresh = [e for e in playlist.entries if e.sequence >= next_sequence]
            for entry in fresh:
                base = uri.rsplit("/", 1)[0] + "/"
                if entry.map_uri not in init:
                    init[entry.map_uri] = urllib.request.urlopen(base + entry.map_uri, timeout=2).read()
                data = urllib.request.urlopen(base + entry.uri, timeout=2).read()
                try:
                    with av.open(io.BytesIO(init[entry.map_uri] + data)) as container:
                        samples = sum(f.samples for f in container.decode(audio=0))
                    assert samples == 48000 * SEGMENT, samples
                except Exception as exc:  # noqa: BLE001 (recorded, asserted on)
                    self.errors.append(f"{entry.uri}: {exc}")
                self.arrivals.append((entry.sequence, time.time()))
                next_sequence = entry.sequence + 1
                advanced = time.time()
            if time.time() - advanced > 1.5 * SEGMENT:
                current = (current + 1) % len(uris)
                self.failovers.append(uris[current])
                advanced = time.time()

    def longest_stall(self) -> float:
        """Playback starts once three segments are in; a stall is the time the playhead
        waits for a segment not yet decoded."""
        if len(self.arrivals) < 4:
            return float("inf")
        first_sequence = self.arrivals[0][0]
        start = self.arrivals[2][1]  # three segments buffered
        stall_total, worst, previous = 0.0, 0.0, None
        for sequence, arrived in self.arrivals:
            if previous is not None and sequence != previous + 1:
                return float("inf")  # a segment skipped: heard as a jump
            previous = sequence
            needed = start + stall_total + (sequence - first_sequence) * SEGMENT
            if arrived > needed:
                worst = max(worst, arrived - needed)
                stall_total += arrived - needed
        return worst


HLSJS = Path(__file__).parents[2] / "src/radiocalico/web/static/vendor/hls.js@1.7.4"
# hls.js as the player configures it (Low-Latency HLS), plus what makes it fail over between
# redundant variants: a live playlist unchanged for 3 reloads is an error (hls.js's default,
# Infinity, waits on a stopped origin for ever: measured, it stalled 10 s and counting).
HLSJS_PAGE = """<!doctype html><audio id=a muted></audio><script type=module>
import Hls from "/hlsjs/hls.light.min.mjs";
window.origins = []; window.stalls = []; window.errors = [];
const audio = document.getElementById("a");
const hls = new Hls({lowLatencyMode: true, liveDurationInfinity: true, liveMaxUnchangedPlaylistRefresh: 3});
hls.on(Hls.Events.ERROR, (e, d) => errors.push(d.details));
hls.on(Hls.Events.FRAG_LOADED, (e, d) => {
  const origin = new URL(d.frag.url).pathname.split("/")[1];
  if (origins[origins.length - 1] !== origin) origins.push(origin);
});
hls.loadSource(location.hash.slice(1));
hls.attachMedia(audio);
audio.play();
let last = -1, since = null;
setInterval(() => {  // a stall: playing, the playhead not moving
  const now = performance.now();
  if (audio.currentTime > 0 && audio.currentTime === last) since ??= now;
  else if (since !== null) { stalls.push(now - since); since = null; }
  last = audio.currentTime;
  window.stalledFor = since === null ? 0 : now - since;
}, 50);
</script>"""


def start_nginx(tmp: Path, port: int, outs: dict[str, Path], more: str = "") -> subprocess.Popen:
    """nginx serving each folder of `outs` at /<name>/, and `more` (further locations)."""
    locations = "".join(f"location /{name}/ {{ alias {out}/; add_header Cache-Control no-cache; }}\n"
                        for name, out in outs.items()) + more
    conf = tmp / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # (the workers read the test's private folder)
    conf.write_text(f"""{user} daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/nginx-error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp};
  scgi_temp_path {tmp};
  types {{ application/vnd.apple.mpegurl m3u8; video/iso.segment m4s; video/mp4 mp4; text/html html; text/javascript js mjs; }}
  server {{ listen 127.0.0.1:{port}; {locations} }}
}}
""")
    return subprocess.Popen([NGINX, "-c", str(conf), "-e", str(tmp / "nginx-error.log")])


@pytest.fixture
def shared_database(postgres_schema_url):
    engine = make_engine(postgres_schema_url)
    upgrade(engine)
    engine.dispose()
    return postgres_schema_url


def test_standby_takes_over_when_the_active_station_is_killed(tmp_path, shared_database, browser):
    require(shutil.which(NGINX) is not None or os.path.exists(NGINX), "nginx is not installed")
    library = tmp_path / "library"
    library.mkdir()
    for k in range(4):
        make_flac(library / f"track{k}.flac", 2.5 + k, seed=k, title=f"Track {k}")  # several starts per run
    port = _free_port()
    names = ("a", "b")
    outs = {name: tmp_path / f"out-{name}" for name in names}
    group = f"failover-{uuid.uuid4().hex[:8]}"
    origins = ",".join(f"http://127.0.0.1:{port}/{name}/" for name in names)

    def station(name: str) -> subprocess.Popen:
        env = dict(os.environ, DATABASE_URL=shared_database, STATION_NODE_ID=name, STATION_GROUP=group,
                   STATION_ORIGINS=origins, STATION_LOUDNESS_TARGET="off", STATION_LIVE_PORT="0",
                   STATION_RENDITIONS="lossless,high", INSTANCE_PATH=str(tmp_path / f"instance-{name}"),
                   STATION_MODE="external")
        return subprocess.Popen([str(Path(sys.executable).parent / "radiocalico"), "station", "--library", str(library),
                                 "--out", str(outs[name]), "--segment-seconds", str(SEGMENT)], env=env,
                                stderr=open(tmp_path / f"station-{name}.log", "wb"))

    page_dir = tmp_path / "www"
    page_dir.mkdir()
    (page_dir / "index.html").write_text(HLSJS_PAGE)
    nginx = start_nginx(tmp_path, port, {**outs, "www": page_dir, "hlsjs": HLSJS})
    watcher = _Watcher(outs)
    watcher.start()
    processes = {"a": station("a")}
    listeners: list[_Listener] = []
    try:
        wait_for(lambda: (outs["a"] / "hls" / LOSSLESS).exists(), timeout=30)
        processes["b"] = station("b")
        wait_for(lambda: len(watcher.hashes["b"]) >= 3, timeout=30)
        listeners = [_Listener(f"http://127.0.0.1:{port}/a/hls/{stream_layout.MASTER_NAME}") for _ in range(2)]
        for listener in listeners:
            listener.start()
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/www/index.html#http://127.0.0.1:{port}/a/hls/"
                  + stream_layout.family_master_name("flac"))
        time.sleep(6 * SEGMENT)
        # Killed in the middle of a segment (what a crash at a random moment averages to):
        # the active station's next segment would have been out half a segment later.
        newest = max(watcher.written["a"].values())
        time.sleep(max(0.0, newest + 1.5 * SEGMENT - time.time()) % SEGMENT)
        killed_at = time.time()
        processes["a"].send_signal(signal.SIGKILL)
        processes["a"].wait()
        time.sleep(8 * SEGMENT)
        hlsjs = page.evaluate("({origins, stalls: stalls.concat([stalledFor]), errors, at: document.getElementById(\"a\").currentTime})")
        page.close()
    finally:
        for listener in listeners:
            listener.stop.set()
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(15)
        watcher.stop.set()
        nginx.terminate()
        nginx.wait(5)
    watcher.join()
    logs = {name: (tmp_path / f"station-{name}.log").read_text(errors="replace") for name in processes}

    # The standby's next segment is out within one segment duration of the kill.
    last_active = max(s for s in watcher.hashes["a"] if watcher.written["a"][s] <= killed_at)
    following = last_active + 1
    assert following in watcher.written["b"], {k: v[-4000:] for k, v in logs.items()}
    assert watcher.written["b"][following] - killed_at <= SEGMENT, (watcher.written["b"][following] - killed_at)
    # ... and it is the active station now.
    engine = make_engine(shared_database)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT node, sequence FROM station_shared_state WHERE station_group = :g "
                                "ORDER BY sequence DESC LIMIT 1"), {"g": group}).one()
    engine.dispose()
    assert row.node == "b" and row.sequence > following, (row, {k: v[-4000:] for k, v in logs.items()})

    # Listeners hear it through: every segment in order, none late by more than 2 s.
    for listener in listeners:
        assert not listener.errors, listener.errors
        assert listener.failovers, "the listener never needed the other origin"
        assert listener.longest_stall() <= 2.0, (listener.longest_stall(), listener.arrivals)

    # ... and so does hls.js in Chromium, moving to the standby's origin.
    assert hlsjs["origins"] == ["a", "b"], hlsjs
    assert hlsjs["at"] > 10 * SEGMENT and max(hlsjs["stalls"]) <= 2000, hlsjs

    # Both wrote the same bytes for every segment both made.
    both = sorted(set(watcher.hashes["a"]) & set(watcher.hashes["b"]))
    assert len(both) >= 5, (both, {k: v[-4000:] for k, v in logs.items()})
    differing = [s for s in both if watcher.hashes["a"][s] != watcher.hashes["b"][s]]
    print(f"takeover: segment {following} {watcher.written['b'][following] - killed_at:.3f} s after the kill; "
          f"stalls {[round(listener.longest_stall(), 3) for listener in listeners]} s; "
          f"failovers {[len(listener.failovers) for listener in listeners]}; "
          f"hls.js: longest stall {max(hlsjs['stalls']):.0f} ms, origins {hlsjs['origins']}; "
          f"{len(both)} segments from both, {len(differing)} differing; "
          f"standby rebuilds {logs['b'].count('programme rebuilt')}")
    assert not differing, (differing, both, {k: v[-4000:] for k, v in logs.items()})


def test_a_standby_without_postgresql_stops_with_one_line_naming_the_setting(tmp_path):
    env = dict(os.environ, STATION_NODE_ID="a", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               INSTANCE_PATH=str(tmp_path), STATION_MODE="external")
    result = subprocess.run([str(Path(sys.executable).parent / "radiocalico"), "station", "--out", str(tmp_path / "out")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "STATION_NODE_ID" in result.stderr and "PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_epoch_that_is_not_a_time_is_named():
    from radiocalico.config import Config

    with pytest.raises(ValueError, match="STATION_EPOCH"):
        Config.from_env({"STATION_EPOCH": "yesterday"})
    assert Config.from_env({"STATION_EPOCH": "2026-01-01T00:00:00Z"}).station_epoch_seconds == 1767225600.0
    assert Config.from_env({"STATION_NODE_ID": "a"}).station_epoch_seconds == 0.0
    assert Config.from_env({}).station_epoch_seconds is None


def test_epoch_locked_writers_name_and_time_segments_alike_and_list_both_origins(tmp_path):
    """Two writers locked to one epoch at different moments give the same segment the same
    sequence number, name, program-date-time and decode time; the master lists each
    rendition once per origin with the same BANDWIDTH and CODECS."""
    from radiocalico.station.epoch import Epoch
    from radiocalico.station.hls import HlsWriter
    from tests.station.test_hls_writer import SAMPLES, publish, renditions

    epoch = Epoch(1_700_000_000.0, SAMPLES, 48000)
    origins = ("https://a.example/stream/", "https://b.example/stream/")
    entries = {}
    for name, first in (("a", 100), ("b", 103)):
        writer = HlsWriter(tmp_path / name, renditions("lossless", "saver"), window=8, origins=origins)
        writer.lock_to(first, epoch.decode_time(first), 0, epoch.stream_id)
        publish(writer, 6, epoch.edge(first))
        entries[name] = {e.sequence: e for e in writer.variants[0].entries}
    for sequence in range(103, 106):
        a, b = entries["a"][sequence], entries["b"][sequence]
        assert (a.uri, a.program_date_time) == (b.uri, b.program_date_time)
        assert a.program_date_time == epoch.edge(sequence)
        segment = (stream_layout.hls_dir(tmp_path / "a") / a.uri).read_bytes()
        assert segment == (stream_layout.hls_dir(tmp_path / "b") / b.uri).read_bytes()
        assert tfdt_of(segment) == sequence * SAMPLES
    master = (stream_layout.hls_dir(tmp_path / "a") / stream_layout.MASTER_NAME).read_text().splitlines()
    variants = [(master[i], master[i + 1]) for i, line in enumerate(master) if line.startswith("#EXT-X-STREAM-INF")]
    lossless = stream_layout.media_playlist_name("lossless")
    assert [uri for _, uri in variants if uri.endswith(lossless)] == [
        "https://a.example/stream/hls/" + lossless, "https://b.example/stream/hls/" + lossless]
    assert len({inf for inf, uri in variants if uri.endswith(lossless)}) == 1
