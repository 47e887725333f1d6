"""Loudness levelling: every track on air at one integrated loudness (EBU R128).

Measurement. Each file is measured once, as the station airs it (decoded, folded to stereo
and resampled to 48 kHz by `audio.decode_track`), with FFmpeg's ``ebur128`` filter through a
PyAV filter graph: integrated loudness (ITU-R BS.1770-4 gating) and true peak
(``peak=true``: 4x oversampled). ``bench/loudness/run.py`` measured it (2-core machine under
load): the meter alone about 270x real time per CPU second (4x faster with ``peak=none``:
the true peak's oversampling is most of its cost), the whole measurement with decoding,
resampling or downmixing 100-170x, so a 5-minute track costs 2-3 s of CPU once. The result is cached by file identity (path, size,
mtime_ns) in a small SQLite file under the instance folder, so a restart measures nothing
again; a background thread measures the rotation's upcoming tracks first, then the rest of
the library, at a lower CPU priority than playout.

The gain. ``gain = min(target - I, ceiling - TP, MAX_GAIN_DB)`` with the target
(STATION_LOUDNESS_TARGET, -18 LUFS by default: the ReplayGain 2.0 reference, which leaves
17 dB between the target and the -1 dBTP ceiling for a track's peaks, so only unusually
peaky tracks are held back; -16/-14 LUFS streaming targets would hold back many more
dynamic tracks, -23 LUFS broadcast makes the station quiet next to everything else) and a
-1 dBTP true-peak ceiling (headroom for the AAC encoders' overshoot). Nothing compresses or
limits: a quiet track with high peaks gets only the gain its peaks allow and airs below the
target (by ``target - I - gain`` LU, logged). Near-silent tracks are raised by at most
MAX_GAIN_DB.

Which measurement. A track opens with, in order: its cached measurement; else its
ReplayGain tag (REPLAYGAIN_TRACK_GAIN, ID3 TXXX:REPLAYGAIN_TRACK_GAIN, MP4
----:com.apple.iTunes:replaygain_track_gain, relative to -18 LUFS; Opus R128_TRACK_GAIN,
Q7.8 dB relative to -23 LUFS; REPLAYGAIN_TRACK_PEAK as its peak); else a measurement made
there and then, within a budget of wall time (a fraction of a segment, so no segment is
late): a track too long for the budget is levelled from its opening part, as far as the
budget reached (so its true peak is known for that part only), and the background thread's
full measurement applies from its next airing. In steady state the thread is far ahead of
playout: it measures the rotation's next tracks first, at 100x real time or more.
A measurement comes before a tag because it is of what airs (after downmix and resampling),
with a true peak, by one meter; tags come from many taggers (some with the older 89 dB
reference) and carry a sample peak at best.

Where the gain goes: on the 24-bit PCM, before every encoder (`apply_gain`), exactly rounded
to 24 bits without dither (the error is below the 24-bit LSB, -144 dBFS, far under any
source's noise floor). Native HLS players and the page need nothing, and all renditions
agree. The lossless rendition is then lossless-coded levelled audio, not bit-exact to the
file: metadatav2.json says so in ``loudness`` (``gain_db``, with the measurement it came from).
A gain of exactly 0 dB leaves the PCM untouched, and with STATION_LOUDNESS_TARGET=off no gain
is applied at all: 48 kHz sources are aired bit-exact.

Measured on the published stream (tests/station/test_loudness.py: two tracks mastered at -14
and -34 LUFS, each decoded from every rendition with PyAV and metered again): off, they air
at -14.2 and -34.2 LUFS; levelled to -18, at -18.0 to -18.2 LUFS in the lossless rendition,
-18.3 to -18.5 in AAC 256 kbit/s and -18.1 to -18.8 in AAC 96 kbit/s, true peaks -6.1 to
-6.9 dBTP. The station's CPU, as fast as it goes over those files with three renditions,
rose from 187 to 218 CPU seconds per hour of programme (bench/loudness/run.py; the gain on
every sample plus measuring the library once).
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable

import av
import mutagen
import numpy as np
from av.filter import Graph

from .audio import STREAM_CHANNELS, STREAM_RATE, decode_track, float_to_pcm
from .library import display_name

log = logging.getLogger("radiocalico.station")

CEILING_DBTP = -1.0
MAX_GAIN_DB = 24.0
RG_REFERENCE_LUFS = -18.0  # ReplayGain 2.0's reference loudness
R128_REFERENCE_LUFS = -23.0  # Opus R128_*_GAIN tags' reference (RFC 7845)
MEASURE_VERSION = 1  # bump when what is measured changes (decoding, downmix): re-measures all
_FULL = float(1 << 31)
_SILENT = -70.0  # the BS.1770 absolute gate: what ebur128 reports for silence


@dataclass(frozen=True)
class Loudness:
    integrated: float  # LUFS
    true_peak: float | None  # dBTP (a sample peak in dBFS for a tag; None when unknown)
    source: str  # "measured", "partial" (the opening part, within the budget), "replaygain", "r128"


def gain_db(loudness: Loudness, target: float, ceiling: float = CEILING_DBTP) -> float:
    """The gain that brings `loudness` to `target` without its true peak passing `ceiling`."""
    gain = min(target - max(loudness.integrated, _SILENT), MAX_GAIN_DB)
    if loudness.true_peak is not None:
        gain = min(gain, ceiling - loudness.true_peak)
    return round(gain, 2)


def apply_gain(pcm: np.ndarray, gain: float) -> np.ndarray:
    """(n, 2) int32 24-bit PCM times `gain` dB, rounded to 24 bits; 0 dB returns it untouched."""
    if gain == 0.0 or len(pcm) == 0:
        return pcm
    return float_to_pcm(pcm / _FULL * (10.0 ** (gain / 20.0)))


def measure(path, budget: float | None = None, cancel: threading.Event | None = None) -> Loudness | None:
    """Integrated loudness and true peak of the file as the station airs it. With `budget`
    (seconds of wall time), stops there: the opening part's loudness ("partial"). None when
    `cancel` was set before the end (the station stopping)."""
    decoder = decode_track(path, report=False)  # damage is logged when the track airs
    try:
        loudness = measure_pcm(decoder, budget, cancel)
    finally:
        decoder.close()
    if loudness is None and not (cancel is not None and cancel.is_set()):
        raise ValueError(f"no audio measured in {path}")
    return loudness


def measure_pcm(chunks: Iterable[np.ndarray], budget: float | None = None,
                cancel: threading.Event | None = None) -> Loudness | None:
    """EBU R128 integrated loudness and true peak of 48 kHz (n, 2) int32 PCM chunks (the
    stream's format), through FFmpeg's ebur128 filter; None for no audio, or once `cancel`
    is set."""
    deadline = None if budget is None else time.monotonic() + budget
    graph = Graph()
    source = graph.add_abuffer(format="s32", sample_rate=STREAM_RATE, layout="stereo",
                               time_base=Fraction(1, STREAM_RATE))
    meter = graph.add("ebur128", "peak=true:metadata=1")
    sink = graph.add("abuffersink")
    source.link_to(meter)
    meter.link_to(sink)
    graph.configure()
    last: dict = {}
    complete = True

    def drain() -> None:
        nonlocal last
        while True:
            try:
                frame = graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            last = frame.metadata or last

    position = 0
    for chunk in chunks:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk, dtype=np.int32).reshape(1, -1),
                                           format="s32", layout="stereo")
        frame.sample_rate = STREAM_RATE
        frame.pts = position
        position += len(chunk)
        graph.push(frame)
        drain()
        if cancel is not None and cancel.is_set():
            return None
        if deadline is not None and time.monotonic() > deadline:
            complete = False
            break
    graph.push(None)
    drain()
    if "lavfi.r128.I" not in last:
        return None
    peak = float(last.get("lavfi.r128.true_peak", "0"))
    return Loudness(float(last["lavfi.r128.I"]), 20 * math.log10(peak) if peak > 0 else None,
                    "measured" if complete else "partial")


def _tag_text(value) -> str:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    text = getattr(value, "text", None)  # ID3 frames
    if text is not None:
        return _tag_text(text)
    if isinstance(value, bytes):  # MP4 free-form atoms
        return value.decode("utf-8", "replace")
    return str(value)


def _number(text: str) -> float:
    return float(text.strip().lower().removesuffix("db").strip())


def tagged(path) -> Loudness | None:
    """The file's track loudness from its ReplayGain (or Opus R128) tags, if it has them."""
    try:
        audio = mutagen.File(path)
    except Exception:
        return None
    if audio is None or audio.tags is None:
        return None
    tags: dict[str, str] = {}
    try:
        items = list(audio.tags.items())
    except Exception:
        return None
    for key, value in items:
        name = str(key).lower().removeprefix("txxx:").removeprefix("----:com.apple.itunes:")
        if name in ("replaygain_track_gain", "replaygain_track_peak", "r128_track_gain"):
            tags[name] = _tag_text(value)
    try:
        peak_tag = tags.get("replaygain_track_peak")
        peak = _number(peak_tag) if peak_tag else 0.0
        true_peak = 20 * math.log10(peak) if peak > 0 else None
        if "replaygain_track_gain" in tags:
            return Loudness(RG_REFERENCE_LUFS - _number(tags["replaygain_track_gain"]), true_peak, "replaygain")
        if "r128_track_gain" in tags:
            return Loudness(R128_REFERENCE_LUFS - int(tags["r128_track_gain"]) / 256.0, None, "r128")
    except (ValueError, OverflowError):
        log.info("ignoring an unreadable ReplayGain tag in %s", path)
    return None


def identity(path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _key(path) -> bytes:
    """A file's name as the cache keys it: its bytes, which any name the filesystem allows
    has (a name that is not UTF-8 has no text SQLite could store)."""
    return os.fsencode(path)


class LoudnessCache:
    """Measurements by file identity, in SQLite at `path` (in memory when None)."""

    def __init__(self, path: Path | None):
        self._lock = threading.Lock()
        try:
            if path is not None:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path) if path is not None else ":memory:", check_same_thread=False)
            self._create()
        except sqlite3.Error as exc:  # a damaged cache is only a cache: start afresh in memory
            log.warning("loudness cache %s unusable (%s); measuring into memory", path, exc)
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
            self._create()

    def _create(self) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS loudness (path TEXT PRIMARY KEY, size INTEGER, "
                         "mtime_ns INTEGER, version INTEGER, integrated REAL, true_peak REAL)")
        self._db.commit()

    def get(self, path, key: tuple[int, int] | None = None) -> Loudness | None:
        """The measurement of the file at `path` as it is now (`key`: its identity, if known)."""
        key = key or identity(path)
        if key is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT integrated, true_peak FROM loudness WHERE path = ? AND size = ? "
                                   "AND mtime_ns = ? AND version = ?", (_key(path), *key, MEASURE_VERSION)).fetchone()
        return Loudness(row[0], row[1], "measured") if row else None

    def put(self, path, key: tuple[int, int], loudness: Loudness) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO loudness VALUES (?, ?, ?, ?, ?, ?)",
                             (_key(path), *key, MEASURE_VERSION, loudness.integrated, loudness.true_peak))
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Leveller:
    """The gain of each track: measurements from the cache, made ahead of playout by a
    background thread (`wanted()`: the paths to measure, most urgent first)."""

    IDLE_SECONDS = 15.0  # between looks for new files once everything is measured

    def __init__(self, target: float, cache_path: Path | None, wanted: Callable[[], Iterable[Path]],
                 open_budget: float = 0.5):
        self.target = target
        self.cache = LoudnessCache(cache_path)
        self.wanted = wanted
        self.open_budget = open_budget
        self._failed: set[tuple[str, tuple[int, int]]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="radiocalico-loudness", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def level(self, path) -> tuple[float, dict]:
        """(gain dB, what metadatav2.json says about it) for the track about to open."""
        loudness = self.cache.get(path) or tagged(path)
        if loudness is None:
            loudness = self._measure(path, self.open_budget)
        if loudness is None:
            return 0.0, {"gain_db": 0.0, "target_lufs": self.target, "source": "unmeasured"}
        gain = gain_db(loudness, self.target)
        short = self.target - loudness.integrated - gain
        if short > 0.5 and loudness.integrated > _SILENT:
            log.info("%s airs %.1f LU under the target: %s %+.1f dB only", display_name(path), short,
                     "its peaks allow" if gain < MAX_GAIN_DB else "the largest gain is", gain)
        return gain, {"gain_db": gain, "target_lufs": self.target, "integrated_lufs": round(loudness.integrated, 2),
                      "true_peak_dbtp": None if loudness.true_peak is None else round(loudness.true_peak, 2),
                      "source": loudness.source}

    def _measure(self, path, budget: float | None) -> Loudness | None:
        key = identity(path)
        if key is None or (str(path), key) in self._failed:
            return None
        try:
            loudness = measure(path, budget, self._stop)
        except Exception as exc:  # the decoder logs damage; the programme reports undecodable files
            log.info("cannot measure the loudness of %s (%s: %s)", path, exc.__class__.__name__, exc)
            self._failed.add((str(path), key))
            return None
        if loudness is not None and loudness.source == "measured" and identity(path) == key:
            self.cache.put(path, key, loudness)
        return loudness

    def _unmeasured(self, path) -> bool:
        key = identity(path)
        return key is not None and (str(path), key) not in self._failed and self.cache.get(path, key) is None

    def _run(self) -> None:
        try:  # measuring is never more urgent than playout (Linux: per-thread niceness)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        while not self._stop.is_set():
            try:
                todo = next((p for p in self.wanted() if self._unmeasured(p)), None)
            except Exception:
                log.exception("loudness measurement: cannot list the tracks")
                todo = None
            if todo is None:
                self._stop.wait(self.IDLE_SECONDS)
                continue
            self._measure(todo, None)
