"""A lost state file (deleted, unreadable) must not restart the stream: a real station run,
the state deleted, a restart, and every rendition's media playlist read by the `m3u8`
parser. The sequence continues above the last one published, the first new segment is a
discontinuity counted by the discontinuity sequence, and the program-date-time never goes
back. Before, the media sequence jumped back to 0 (34 -> 0) with no discontinuity."""

from __future__ import annotations

import m3u8

from radiocalico import stream_layout
from radiocalico.station import Station
from radiocalico.station.encoders import LADDER

from .audiofiles import make_flac
from .streamutil import run_station

SEG = 1.0
FAST = 6.0  # test-only clock acceleration (three encoders per segment)
WINDOW = 4


def playlists(out) -> dict[str, m3u8.M3U8]:
    hls = stream_layout.hls_dir(out)
    return {name: m3u8.load(str(hls / stream_layout.media_playlist_name(name))) for name in LADDER}


def timeline(playlist: m3u8.M3U8) -> list[tuple[int, int, str, float]]:
    """(media sequence, discontinuity number, URI, program-date-time) of each segment."""
    rows, number = [], playlist.discontinuity_sequence or 0
    for offset, segment in enumerate(playlist.segments):
        number += bool(segment.discontinuity)
        assert segment.program_date_time is not None, "every segment carries its PDT"
        rows.append((playlist.media_sequence + offset, number, segment.uri,
                     segment.program_date_time.timestamp()))
    return rows


def station(lib, out, seed):
    return Station(lib, out, segment_seconds=SEG, speed=FAST, window=WINDOW, seed=seed)


def test_a_lost_state_continues_every_renditions_playlist(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 2.5, 48000, 24, seed=1, artist="A", title="One")
    out = tmp_path / "out"
    run_station(station(lib, out, 1), segments=6)
    before = {name: timeline(p) for name, p in playlists(out).items()}

    (out / stream_layout.STATE_NAME).unlink()
    run_station(station(lib, out, 2), segments=2)
    after = {name: timeline(p) for name, p in playlists(out).items()}
    for name in LADDER:
        old, new = before[name], after[name]
        last_sequence, last_number, _, last_pdt = old[-1]
        sequences = [row[0] for row in new]
        assert sequences == list(range(sequences[0], sequences[0] + len(new))), (name, sequences)
        assert sequences[-1] > last_sequence
        # The segments a player already has keep their numbers; what follows is new.
        assert {row[0]: row[2] for row in new if row[0] <= last_sequence} == \
            {row[0]: row[2] for row in old if row[0] in sequences}
        first_new = next(row for row in new if row[0] == last_sequence + 1)
        assert first_new[1] == last_number + 1  # a discontinuity, and counted once
        assert [row[1] for row in new if row[0] > last_sequence] == [last_number + 1] * 2
        pdts = [row[3] for row in new]
        assert pdts == sorted(pdts) and first_new[3] >= last_pdt + SEG - 0.002  # after its end
        assert playlists(out)[name].segments[sequences.index(last_sequence + 1)].discontinuity
    # The renditions agree segment by segment (one timeline).
    assert len({tuple((s, n, p) for s, n, _, p in rows) for rows in after.values()}) == 1

    # Lost again: once the discontinuities leave the window the sequence still counts them.
    (out / stream_layout.STATE_NAME).write_text("{not json")
    run_station(station(lib, out, 3), segments=WINDOW + 2)
    for name, playlist in playlists(out).items():
        rows = timeline(playlist)
        assert not any(segment.discontinuity for segment in playlist.segments)
        assert playlist.discontinuity_sequence == rows[-1][1] == before[name][-1][1] + 2
        assert rows[0][0] > after[name][-1][0]
        pdts = [row[3] for row in rows]
        assert pdts == sorted(pdts) and pdts[0] >= after[name][-1][3]
