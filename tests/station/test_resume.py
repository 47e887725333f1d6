"""A restarted station resumes the interrupted track where it was, not another track."""

from __future__ import annotations

import json

import numpy as np
import pytest

from radiocalico.station import Station
from radiocalico.station.audio import decode_track
from radiocalico.stream_layout import METADATA_NAME

from .audiofiles import make_flac
from .streamutil import read_playlist, read_stream, run_station

SEG = 0.5
SEG_SAMPLES = 24000
FAST = 12.0
TOLERANCE = int(0.050 * 48000)  # the "within ~50 ms"


def stream_pcm(track_path) -> np.ndarray:
    """The source as the stream carries it (48 kHz, 24-bit values), mono for correlation."""
    pcm = np.concatenate(list(decode_track(track_path))) >> 8
    return pcm[:, 0].astype(np.float64)


def locate(piece: np.ndarray, sources: dict) -> tuple[str, int, float]:
    """(source name, sample offset, normalised correlation) where `piece` fits best."""
    best = ("", -1, -1.0)
    for name, source in sources.items():
        size = 1 << int(np.ceil(np.log2(len(source) + len(piece))))
        corr = np.fft.irfft(np.fft.rfft(source, size) * np.conj(np.fft.rfft(piece, size)), size)
        at = int(np.argmax(corr[:len(source) - len(piece) + 1]))
        window = source[at:at + len(piece)]
        score = float(np.dot(window, piece) / (np.linalg.norm(window) * np.linalg.norm(piece) + 1e-9))
        if score > best[2]:
            best = (name, at, score)
    return best


def library(tmp_path, rate: int):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_flac(lib / f"t{i}.flac", 6.0, rate, 24 if rate == 48000 else 16, seed=10 + i,
                  artist=f"Artist {i}", title=f"Title {i}")
    return lib


def station(lib, out) -> Station:
    return Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=5)


@pytest.mark.parametrize("rate", [48000, 44100], ids=["48k", "44k1-resampled"])
def test_a_restart_resumes_the_interrupted_track_at_its_position(tmp_path, rate):
    lib = library(tmp_path, rate)
    sources = {p.stem: stream_pcm(p) for p in sorted(lib.glob("*.flac"))}
    out = tmp_path / "out"
    run_station(station(lib, out), segments=5)  # ~2.5 s into the first 6 s track
    meta_before = json.loads((out / METADATA_NAME).read_text())
    boundaries = [len(read_playlist(out).entries)]
    for _ in range(2):  # resumed twice: a resumed track's position counts from where it resumed
        run_station(station(lib, out), segments=3)
        assert json.loads((out / METADATA_NAME).read_text()) == meta_before, "no new start, no second entry"
        boundaries.append(len(read_playlist(out).entries))
    pcm, playlist = read_stream(out, tmp_path)
    mono = (pcm[:, 0]).astype(np.float64)
    assert [i for i, e in enumerate(playlist.entries) if e.discontinuity] == boundaries[:2]
    for boundary in boundaries[:2]:
        edge = boundary * SEG_SAMPLES
        name, at, score = locate(mono[edge - 12000:edge], sources)  # the last 250 ms before the stop
        assert score > 0.99
        expected = at + 12000  # where that track was at the stop
        name_after, at_after, score_after = locate(mono[edge:edge + 12000], sources)  # the first 250 ms after
        assert (name_after, score_after > 0.99) == (name, True), "the same track continues"
        assert abs(at_after - expected) <= TOLERANCE, f"resumed {at_after - expected} samples off"
        assert expected > SEG_SAMPLES, "the track was stopped mid-way, not at its start"
    assert meta_before["title"] == f"Title {name[1:]}"


def test_a_track_whose_file_changed_is_not_resumed(tmp_path):
    lib = library(tmp_path, 48000)
    out = tmp_path / "out"
    run_station(station(lib, out), segments=5)
    meta_before = json.loads((out / METADATA_NAME).read_text())
    interrupted = lib / f"t{meta_before['title'].split()[-1]}.flac"
    make_flac(interrupted, 6.0, 48000, 24, seed=99, artist=meta_before["artist"], title=meta_before["title"])
    run_station(station(lib, out), segments=3)
    meta_after = json.loads((out / METADATA_NAME).read_text())
    assert meta_after["started_at"] != meta_before["started_at"], "a new track started"
    assert meta_after["title"] != meta_before["title"], "not the changed track again"
    assert meta_after["prev_title_1"] == meta_before["title"]
    assert meta_after["prev_started_at_1"] == meta_before["started_at"]


def test_the_rotation_carries_on_with_its_bag_after_a_restart(tmp_path):
    """Four 1 s tracks: a restart in the third leaves the shuffle as it was, so the first
    four starts are the four tracks, each once."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(4):
        make_flac(lib / f"t{i}.flac", 1.0, 48000, 24, seed=20 + i, artist=f"Artist {i}", title=f"Title {i}")
    out = tmp_path / "out"
    run_station(station(lib, out), segments=5)  # 2.5 s: the third track is playing
    run_station(station(lib, out), segments=5)  # 5.0 s in all: five starts
    meta = json.loads((out / METADATA_NAME).read_text())
    played = [meta[f"prev_title_{i}"] for i in range(4, 0, -1)] + [meta["title"]]
    assert meta["prev_title_5"] == "" and all(played), played
    assert len(set(played[:4])) == 4, f"a track came twice in one bag: {played}"
    assert played[4] != played[3]
