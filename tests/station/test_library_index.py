"""A real library: odd names, huge and broken covers, RIFF tags, long titles, short tracks,
duplicates, symbolic links, incremental rescans; each from a file that went wrong before."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from pathlib import Path

import av
import numpy as np
from mutagen.flac import FLAC
from PIL import Image
from pydantic import TypeAdapter

from radiocalico.api.schemas import TagText
from radiocalico.songs import TAG_TEXT_MAX, song_id
from radiocalico.station import Station
from radiocalico.station.cover import placeholder_cover
from radiocalico.station.library import read_track
from radiocalico.station.library_index import LibraryIndex
from radiocalico.stream_layout import METADATA_NAME

from .audiofiles import art_jpeg, make_flac, noise_pcm
from .streamutil import run_station, wait_for

LOGGER = "radiocalico.station"
SEG = 0.5
FAST = 12.0


def index_of(lib: Path, cache: Path) -> LibraryIndex:
    index = LibraryIndex(lib, cache, rescan_seconds=3600)
    index.start()
    assert index.scanned.wait(60)
    return index


def huge_png() -> bytes:
    """8000x8000: 192 MB decoded, a megabyte or so as a (stripy) PNG."""
    pixels = np.zeros((8000, 8000, 3), dtype=np.uint8)
    pixels[::7, :, 0] = 200
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def test_a_file_name_that_is_not_utf8_plays_with_its_name_as_title(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    latin1 = os.path.join(os.fsencode(lib), b"Caf\xe9.flac")
    make_flac(Path(os.fsdecode(latin1)), 0.6, 48000, 24, seed=1, title="x")
    audio = FLAC(os.fsdecode(latin1))
    del audio["title"]
    audio.save()
    make_flac(lib / "other.flac", 0.6, 48000, 24, seed=2, title="Other")
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=1)
    run_station(station, segments=8)
    meta = json.loads((out / METADATA_NAME).read_text())
    titles = {meta["title"], meta["prev_title_1"], meta["prev_title_2"]}
    assert "Café" in titles
    assert meta["song_id"] == song_id(meta["artist"], meta["title"])


def test_a_huge_cover_is_refused_by_its_header_and_the_folder_cover_shown(tmp_path, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "huge.flac", 0.5, seed=1, title="Huge", picture=huge_png())
    (lib / "cover.jpg").write_bytes(art_jpeg((0, 0, 200)))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        index = index_of(lib, tmp_path / "cache")
    index.stop()
    track = index.tracks[0]
    refused = [r.getMessage() for r in caplog.records if "too big" in r.getMessage()]
    assert len(refused) == 1 and "huge.flac" in refused[0] and "8000x8000" in refused[0]
    cover = Image.open(track.cover)
    assert cover.size == (600, 600)
    assert all(abs(a - b) < 12 for a, b in zip(cover.getpixel((300, 300)), (0, 0, 200)))


def test_a_corrupt_embedded_cover_does_not_hide_the_folder_cover(tmp_path, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "broken-art.flac", 0.5, seed=1, picture=b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    (lib / "folder.jpg").write_bytes(art_jpeg((0, 200, 0)))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        index = index_of(lib, tmp_path / "cache")
    index.stop()
    cover = Image.open(index.tracks[0].cover)
    assert all(abs(a - b) < 12 for a, b in zip(cover.getpixel((300, 300)), (0, 200, 0)))
    assert any("broken-art.flac" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_riff_info_tags_of_a_wav_are_read(tmp_path):
    path = tmp_path / "info.wav"
    pcm = noise_pcm(0.5, 44100, 16).astype(np.int16)
    with av.open(str(path), "w", format="wav") as container:
        container.metadata.update({"artist": "Riff Artist", "title": "Riff Title", "album": "Riff Album",
                                   "date": "03.05.2021"})
        stream = container.add_stream("pcm_s16le", rate=44100, layout="stereo")
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    track = read_track(path)
    assert (track.artist, track.title, track.album, track.date) == ("Riff Artist", "Riff Title", "Riff Album", "2021")


def test_dates_in_common_forms_give_the_year(tmp_path):
    for i, date in enumerate(["2021-05-03", "03.05.2021", "May 2021", "2021"]):
        make_flac(tmp_path / f"{i}.flac", 0.2, date=date)
        assert read_track(tmp_path / f"{i}.flac").date == "2021", date


def test_a_huge_title_with_newlines_is_cut_to_what_a_vote_accepts(tmp_path):
    title = "Long\ntitle " + "x" * 4994
    make_flac(tmp_path / "long.flac", 0.2, title=title, artist="Tab\tArtist")
    track = read_track(tmp_path / "long.flac")
    assert len(track.title) == TAG_TEXT_MAX and track.title.startswith("Long title x")
    assert track.artist == "Tab Artist"
    assert TypeAdapter(TagText).validate_python(track.title) == track.title


def test_a_track_shorter_than_a_segment_is_published_with_its_cover(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "blip.flac", 0.1, seed=1, title="Blip", picture=art_jpeg((200, 0, 0)))
    make_flac(lib / "long.flac", 1.2, seed=2, title="Long", picture=art_jpeg((0, 0, 200)))
    out = tmp_path / "out"
    run_station(Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=2), segments=10)
    meta = json.loads((out / METADATA_NAME).read_text())
    titles = [meta["title"]] + [meta[f"prev_title_{i}"] for i in range(1, 6)]
    assert "Blip" in titles
    for url in [meta["cover_url"]] + [meta[f"prev_cover_url_{i}"] for i in range(1, 6)]:
        if url:
            assert (out / url).is_file(), url


def test_a_bad_file_is_logged_once_and_read_again_when_it_changes(tmp_path, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "good.flac", 0.2)
    (lib / "bad.flac").write_bytes(b"fLaC garbage" * 10)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        index = index_of(lib, tmp_path / "cache")
        index.scan()
        index.stop()
        again = index_of(lib, tmp_path / "cache")  # a restart: the database remembers
        again.stop()
    assert sum("bad.flac" in r.getMessage() for r in caplog.records) == 1
    assert again.files_read == 0
    shutil.copy(lib / "good.flac", lib / "bad.flac")  # fixed, but now a duplicate song
    again.scan()
    assert again.files_read == 1


def test_incremental_rescan_reads_only_changed_files_and_forgets_removed_ones(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(6):
        make_flac(lib / f"{i}.flac", 0.1, seed=i, title=f"Song {i}")
    index = index_of(lib, tmp_path / "cache")
    index.stop()
    assert index.files_read == 6 and len(index.tracks) == 6
    index.scan()
    assert index.files_read == 0
    make_flac(lib / "2.flac", 0.1, seed=2, title="Song 2 retagged")
    (lib / "5.flac").unlink()
    index.scan()
    assert index.files_read == 1
    assert sorted(t.title for t in index.tracks) == ["Song 0", "Song 1", "Song 2 retagged", "Song 3", "Song 4"]


def test_duplicates_are_one_song_and_symlinked_folders_are_followed_once(tmp_path):
    lib = tmp_path / "lib"
    (lib / "album").mkdir(parents=True)
    make_flac(lib / "album" / "a.flac", 0.1, seed=1, artist="Same", title="Song")
    make_flac(lib / "album" / "b.flac", 0.1, seed=2, artist="same ", title="SONG")
    make_flac(lib / "album" / "c.flac", 0.1, seed=3, artist="Other", title="Song")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    make_flac(outside / "d.flac", 0.1, seed=4, artist="Linked", title="Song")
    (lib / "linked").symlink_to(outside)
    (lib / "album" / "loop").symlink_to(lib)  # a loop back up the tree
    index = index_of(lib, tmp_path / "cache")
    index.stop()
    assert sorted(t.artist for t in index.tracks) == ["Linked", "Other", "Same"]
    assert index.track(lib / "album" / "b.flac") is None


def test_the_programme_is_given_the_rendered_cover_only(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "art.flac", 0.2, seed=1, picture=art_jpeg((200, 0, 0)))
    make_flac(lib / "none.flac", 0.2, seed=2)
    index = index_of(lib, tmp_path / "cache")
    index.stop()
    tracks = {t.path.name: t for t in index.tracks}
    assert tracks["none.flac"].cover is None
    jpeg = tracks["art.flac"].cover.read_bytes()
    assert Image.open(io.BytesIO(jpeg)).size == (600, 600) and jpeg != placeholder_cover()


def test_reading_and_playing_a_file_with_a_huge_picture_never_decodes_it(tmp_path):
    """The picture decoded would be 192 MB; a child reading the tags and decoding the audio
    (with the station's modules imported) stays far below that."""
    import subprocess
    import sys

    path = tmp_path / "huge.flac"
    make_flac(path, 0.5, seed=1, title="Huge", picture=huge_png())
    code = ("import sys\nfrom radiocalico.station.library import read_track\n"
            "from radiocalico.station.audio import decode_track\n"
            "read_track(sys.argv[1])\nassert sum(len(c) for c in decode_track(sys.argv[1])) == 24000\n"
            # The child's own peak (a new address space at exec: ru_maxrss would be the parent's).
            "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n")
    peak_kb = int(subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True,
                                 text=True).stdout)
    assert peak_kb / 1024 < 150, f"peak RSS {peak_kb / 1024:.0f} MB"


def test_a_file_added_while_the_station_plays_goes_on_air_in_this_bag(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(8):
        make_flac(lib / f"{i}.flac", 0.6, seed=i, title=f"Old {i}")
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=4, rescan_seconds=0.2)
    station.start()
    try:
        make_flac(lib / "fresh.flac", 0.6, seed=20, title="Fresh")
        titles: list[str] = []

        def aired() -> bool:
            meta = json.loads((out / METADATA_NAME).read_text())
            if not titles or titles[-1] != meta["title"]:
                titles.append(meta["title"])
            return "Fresh" in titles

        wait_for(aired, timeout=60, interval=0.01)
    finally:
        station.stop()
    # Before the bag (eight old songs) that was playing when it came could end.
    assert len([t for t in titles if t.startswith("Old")]) <= 8 + 1


def test_an_album_with_a_broken_folder_cover_logs_it_once(tmp_path, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_flac(lib / f"{i}.flac", 0.1, seed=i, title=f"Song {i}")
    (lib / "cover.jpg").write_bytes(b"\xff\xd8 not a jpeg at all" * 20)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        index = index_of(lib, tmp_path / "cache")
    index.stop()
    assert [t.cover for t in index.tracks] == [None, None, None]
    assert sum("cover.jpg" in r.getMessage() for r in caplog.records) == 1


def test_the_covers_of_removed_files_are_deleted(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "red.flac", 0.1, seed=1, title="Red", picture=art_jpeg((200, 0, 0)))
    make_flac(lib / "blue.flac", 0.1, seed=2, title="Blue", picture=art_jpeg((0, 0, 200)))
    index = index_of(lib, tmp_path / "cache")
    index.stop()
    covers = {t.title: t.cover for t in index.tracks}
    (lib / "red.flac").unlink()
    index.scan()
    assert not covers["Red"].exists() and covers["Blue"].exists()


def test_a_played_file_that_changes_waits_for_the_next_bag(tmp_path):
    from radiocalico.station.rotation import Rotation

    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(4):
        make_flac(lib / f"{i}.flac", 0.1, seed=i, title=f"Song {i}")
    index = index_of(lib, tmp_path / "cache")
    index.stop()
    rotation = Rotation(lib, [], seed=2, index=index)
    first = rotation.next()
    os.utime(first.path, ns=(1, 10**18))  # touched: read again, reported again
    index.scan()
    rest = [rotation.next().path for _ in range(3)]
    assert first.path not in rest and len(set(rest)) == 3


def test_the_station_plays_while_a_big_folder_is_still_being_read(tmp_path):
    """Finding 5: 5,000 files in one folder were 184 s of dead air, the whole folder read
    (and each file's folder listed) before the first segment. Now the first segment comes
    from the first files found, long before the first pass over the folder ends."""
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "0000.flac", 0.6, 48000, 16, seed=1, title="Track 0")
    for n in range(1, 400):  # one folder, as found; copies retagged are distinct songs
        copy = lib / f"{n:04d}.flac"
        shutil.copyfile(lib / "0000.flac", copy)
        audio = FLAC(copy)
        audio["title"] = f"Track {n}"
        audio.save()
    out = tmp_path / "out"
    station = Station(lib, out, segment_seconds=SEG, speed=FAST, window=100, seed=1)
    station.start()
    try:
        assert station.index is not None and not station.index.scanned.is_set(), \
            "the first segment waited for the whole folder"
        assert (out / METADATA_NAME).exists()
        assert station.index.scanned.wait(120)
        assert len(station.index) == 400
    finally:
        station.stop()
