"""Programming, heard on the stream: rotation rules, time blocks, a station ID on the hour,
every-N jingles, requests, a skip; the station runs faster than real time on its own clock
(the program-date-time clock), with its schedule in a real database."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from radiocalico.config import Config
from radiocalico.db import Store, upgrade
from radiocalico.db import programming as queries
from radiocalico.recorder import Recorder
from radiocalico.station import Station
from radiocalico.station.decider import Rules
from radiocalico.station.library_index import LibraryIndex
from radiocalico.stream_layout import LIBRARY_INDEX_DIR, METADATA_NAME

from .audiofiles import make_flac
from .streamutil import live_edge, parse_pdt, read_stream, wait_for

SEG = 0.5
FAST = 12.0
_STARTED = re.compile(r"now playing: (.*) - (.*) \((.*)\)")


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'radiocalico.sqlite3'}"
    store = Store(url)
    upgrade(store.engine)
    yield url, store
    store.dispose()


def station(lib, out, url="", **kwargs) -> Station:
    kwargs.setdefault("speed", FAST)
    return Station(lib, out, segment_seconds=SEG, renditions=("lossless",), database_url=url,
                   publish_next=True, seed=kwargs.pop("seed", 1), **kwargs)


class Starts:
    """Every track start the station logs: (artist, title, started_at)."""

    def __init__(self, caplog):
        self.caplog = caplog
        caplog.set_level(logging.INFO, logger="radiocalico.station")

    def __call__(self) -> list[tuple[str, str, float]]:
        found = []
        for record in self.caplog.records:
            match = _STARTED.fullmatch(record.getMessage())
            if match:
                found.append((match[1], match[2], parse_pdt(match[3])))
        return found


def run_until(st: Station, done, timeout: float = 90.0) -> None:
    st.start()
    try:
        wait_for(lambda: done() or not st.running, timeout)
        assert st.running, "the station stopped on its own"
    finally:
        st.stop()


def test_a_nine_track_library_never_repeats_a_song_before_the_other_eight(tmp_path, caplog):
    """The rules cannot be honoured (1 s tracks, 120 minutes): the decider relaxes them, plays
    the song played longest ago, and says so in the metadata; across a restart too."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(9):
        make_flac(lib / f"{i}.flac", 1.0, seed=i, artist=f"Artist {i}", title=f"Song {i}")
    out = tmp_path / "out"
    # The station plays while its index reads the library: read it first, so that every
    # decision below knows the nine songs.
    index = LibraryIndex(lib, out / LIBRARY_INDEX_DIR)
    index.start()
    wait_for(lambda: len(index) == 9)
    index.stop()
    starts = Starts(caplog)
    run_until(station(lib, out, rules=Rules(120, 30)), lambda: len(starts()) >= 12)
    meta = json.loads((out / METADATA_NAME).read_text())
    assert meta["relaxed"] is True and meta["reason"] == "rotation"
    assert all(entry["relaxed"] for entry in meta["next"])
    run_until(station(lib, out, rules=Rules(120, 30), seed=2), lambda: len(starts()) >= 24)
    titles = [title for _, title, _ in starts()]
    for index, title in enumerate(titles):
        window = titles[max(0, index - 8):index]
        assert title not in window, f"{title} again within eight tracks: {titles}"


def test_no_artist_within_its_separation_when_the_library_allows(tmp_path, caplog):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(3):
        make_flac(lib / f"a{i}.flac", 1.0, seed=i, artist="Alpha", title=f"Alpha {i}")
    for i in range(4):
        make_flac(lib / f"o{i}.flac", 1.0, seed=10 + i, artist=f"Other {i}", title=f"Other {i}")
    out = tmp_path / "out"
    starts = Starts(caplog)
    # Seconds, not minutes, so that a test hears many separations: no artist within 2.5 s
    # (three of the seven tracks are Alpha's: the library can honour it).
    run_until(station(lib, out, rules=Rules(0, 2.5 / 60)), lambda: len(starts()) >= 16)
    alpha = [at for artist, _, at in starts() if artist == "Alpha"]
    assert len(alpha) >= 3
    assert min(b - a for a, b in zip(alpha, alpha[1:])) >= 2.5 - 0.01
    assert not json.loads((out / METADATA_NAME).read_text())["relaxed"]


def _programme(store: Store, playlists: dict, blocks=(), timed=()) -> None:
    with store.writing() as connection:
        for name, entries in playlists.items():
            queries.put_playlist(connection, name, [queries.Entry(*e) for e in entries])
        queries.put_schedule(connection, list(blocks), list(timed))


def test_the_night_block_plays_its_playlist_until_six_in_the_station_time_zone(tmp_path, caplog, database):
    url, store = database
    lib = tmp_path / "lib"
    for folder in ("night", "day"):
        (lib / folder).mkdir(parents=True)
        for i in range(4):
            make_flac(lib / folder / f"{i}.flac", 1.0, seed=i, artist=f"{folder} {i}", title=f"{folder} {i}")
    zone = ZoneInfo("Europe/Paris")
    weekday = datetime(2026, 12, 1, 5, 59, 54, tzinfo=zone)  # a Tuesday
    _programme(store, {"Night": [("folder", "night", 1)], "Empty": [("folder", "nothing-here", 1)]},
               blocks=[queries.Block("Night", "Night", (0, 1, 2, 3, 4), 0, 6 * 60),
                       queries.Block("Morning", "Empty", (0, 1, 2, 3, 4), 6 * 60, 9 * 60)])
    offset = weekday.timestamp() - time.time()
    starts = Starts(caplog)
    six = datetime(2026, 12, 1, 6, 0, tzinfo=zone).timestamp()
    run_until(station(lib, tmp_path / "out", url, zone=zone, clock=lambda: time.time() + offset),
              lambda: any(at > six + 4 for _, _, at in starts()))
    seen = starts()
    before = [artist for artist, _, at in seen if at < six - 1]
    after = [artist for artist, _, at in seen if at >= six + 1]
    assert before and all(a.startswith("night") for a in before), seen
    # The morning's playlist is empty: the whole library plays (never silence).
    assert after and any(a.startswith("day") for a in after), seen


def _ids_and_jingles(tmp_path: Path, store: Store, song_seconds: float) -> Path:
    """Six songs, a station ID on the hour and a jingle every three songs; the library."""
    lib = tmp_path / "lib"
    for folder in ("music", "ids", "jingles"):
        (lib / folder).mkdir(parents=True)
    for i in range(6):
        make_flac(lib / "music" / f"{i}.flac", song_seconds, seed=i, artist=f"Band {i}", title=f"Tune {i}")
    make_flac(lib / "ids" / "id.flac", 0.6, seed=50, artist="Radio Calico", title="Station ID")
    make_flac(lib / "jingles" / "j.flac", 0.4, seed=60, artist="Radio Calico", title="Jingle")
    _programme(store, {"IDs": [("folder", "ids", 1)], "Jingles": [("folder", "jingles", 1)]},
               timed=[queries.Timed("top_of_hour", None, "IDs"), queries.Timed("every_n", 3, "Jingles")])
    return lib


def _assert_a_jingle_every_three_songs(seen) -> None:
    """Every three songs a jingle (the station ID does not count as a song)."""
    songs = 0
    for _, title, _ in seen:
        if title == "Jingle":
            assert songs == 3, seen
            songs = 0
        elif title != "Station ID":
            songs += 1
            assert songs <= 3, seen


def test_the_station_id_starts_exactly_on_the_hour_and_a_jingle_every_three_songs(tmp_path, caplog, database):
    url, store = database
    lib = _ids_and_jingles(tmp_path, store, song_seconds=12.0)
    hour = (int(time.time() // 3600) + 5) * 3600.0
    # The stream starts 23 s before the hour (1.5 s of pre-roll): the second song, 11 s
    # before the hour, is playing on the hour.
    offset = hour - 21.5 - time.time()
    starts = Starts(caplog)
    run_until(station(lib, tmp_path / "out", url, rules=Rules(0, 0), clock=lambda: time.time() + offset),
              lambda: sum(title == "Jingle" for _, title, _ in starts()) >= 2, timeout=120)
    seen = starts()
    ids = [at for _, title, at in seen if title == "Station ID"]
    assert ids == [hour], seen  # on the hour to the millisecond, once
    _assert_a_jingle_every_three_songs(seen)
    assert sum(title == "Jingle" for _, title, _ in seen) >= 2


def _tunes(tmp_path: Path, seconds: float) -> Path:
    """A library of six songs, "Band i - Tune i"."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(6):
        make_flac(lib / f"{i}.flac", seconds, seed=i, artist=f"Band {i}", title=f"Tune {i}")
    return lib


def _request(store: Store, title: str) -> queries.Request:
    """A listener's request for `title`, once the station has mirrored its library."""
    def mirrored():
        with store.reading() as connection:
            return queries.search_library(connection, title, 5)

    track = wait_for(mirrored)[0]
    with store.writing() as connection:
        return queries.add_request(connection, track, "t:someone")


def test_a_request_plays_flagged_and_is_recorded_as_requested(tmp_path, caplog, database):
    url, store = database
    lib = _tunes(tmp_path, seconds=1.0)
    out = tmp_path / "out"
    st = station(lib, out, url, rules=Rules(0, 0))
    st.start()
    try:
        first = _request(store, "Tune 4")
        wait_for(lambda: json.loads((out / METADATA_NAME).read_text()).get("requested"), timeout=60)
        meta = json.loads((out / METADATA_NAME).read_text())
        assert meta["title"] == "Tune 4" and meta["reason"] == f"request:{first.id}"
        config = Config(instance_path=tmp_path / "instance", database_url=url, station_out=str(out),
                        station_mode="external", secret_key="programming-test-secret-key-0123456789abcdef")
        Recorder(config, store, lambda: None).poll()
        with store.reading() as connection:
            row = connection.exec_driver_sql("SELECT requested FROM plays WHERE title = 'Tune 4'").all()
        assert row and all(r[0] for r in row[-1:])

        # The playout loop reports the start to its database thread, which writes it on its
        # next round: the metadata can announce the song a moment before the request is
        # marked played. It must be marked, and leave the open requests, within seconds.
        def still_open():
            with store.reading() as connection:
                return [r.status for r in queries.open_requests(connection)]

        wait_for(lambda: still_open() == [], timeout=5.0)
    finally:
        st.stop()


def test_requests_are_taken_round_robin_by_requester(tmp_path, database):
    """Three requests from one listener, then one from another: the second listener's comes
    before the first's second. The songs requested are outside the playlist the rotation
    plays all day, so none reaches the queue before its request does (a request for a song
    already queued takes that item's place: another test)."""
    url, store = database
    lib = tmp_path / "lib"
    for folder, count in (("rotation", 8), ("requested", 4)):
        (lib / folder).mkdir(parents=True)
        for i in range(count):
            make_flac(lib / folder / f"{i}.flac", 0.8, seed=i, artist=f"{folder} {i}", title=f"Tune {folder} {i}")
    _programme(store, {"Rotation": [("folder", "rotation", 1)]},
               blocks=[queries.Block("All day", "Rotation", tuple(range(7)), 0, 0)])
    out = tmp_path / "out"
    st = station(lib, out, url, rules=Rules(0, 0), speed=2.0)
    st.start()
    try:
        def mirrored():
            with store.reading() as connection:
                return queries.search_library(connection, "Tune", 20)

        tracks = {t.title: t for t in wait_for(lambda: len(mirrored()) == 12 and mirrored())}
        free = [f"Tune requested {i}" for i in range(4)]
        with store.writing() as connection:
            greedy = [queries.add_request(connection, tracks[title], "t:greedy").id for title in free[:3]]
            patient = queries.add_request(connection, tracks[free[3]], "t:patient").id

        def played():
            with store.reading() as connection:
                rows = connection.exec_driver_sql(
                    "SELECT id FROM track_requests WHERE status = 'played' ORDER BY played_at").all()
            return [row[0] for row in rows] if len(rows) == 4 else None

        order = wait_for(played, timeout=60)
    finally:
        st.stop()
    # The second requester's first comes before the first requester's second.
    assert order == [greedy[0], patient, greedy[1], greedy[2]]


@pytest.mark.parametrize("part", [0.0, 0.25], ids=["segments", "ll-hls-parts"])
def test_a_skip_is_heard_within_one_segment(tmp_path, database, part):
    """Long tracks, three skips posted at different moments of a segment: in the decoded
    stream each track fades out over 0.2 s from the next segment boundary after the command
    (the station reads commands just before cutting each segment), and the next one plays.
    Measured from the live edge when the command was posted (the end of the newest part
    published): a listener there hears the cut within a segment, and no audio already
    published changes."""
    url, store = database
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(4):
        make_flac(lib / f"{i}.flac", 60.0, seed=i, artist=f"Long {i}", title=f"Long {i}")
    out = tmp_path / "out"
    st = Station(lib, out, segment_seconds=SEG, renditions=("lossless",), database_url=url, speed=1.0,
                 window=60, preroll_segments=1, part_seconds=part)
    asked = []
    st.start()
    try:
        wait_for(lambda: st.segments_published >= 4)
        for offset in (0.13, 0.29, 0.41):  # seconds into a segment
            published = st.segments_published
            wait_for(lambda: st.segments_published > published, interval=0.005)
            time.sleep(offset)
            edge = live_edge(out)
            with store.writing() as connection:
                command = queries.add_command(connection, "skip")
            asked.append(edge)

            def applied():
                with store.reading() as connection:
                    return queries.command(connection, command)[1] is not None

            wait_for(applied, timeout=10)
            with store.reading() as connection:
                assert queries.command(connection, command)[2] == "skipped"
        done = st.segments_published
        wait_for(lambda: st.segments_published >= done + 4)
        pcm, playlist = read_stream(out, tmp_path)
    finally:
        st.stop()
    origin = playlist.entries[0].pdt
    level = pcm.astype(np.float64).reshape(-1, 480, 2)  # 10 ms windows
    rms = np.sqrt(np.mean(level ** 2, axis=(1, 2)))
    typical = float(np.median(rms))
    previous = 0  # the window where the track before began (after the last skip)
    edges = [round((edge - origin) * 100) for edge in asked] + [len(rms)]
    for edge, following in zip(asked, edges[1:]):
        first = round((edge - origin) * 100)
        quiet = next(w for w in range(first, len(rms)) if rms[w] < 0.1 * typical)
        resumed = next(w for w in range(quiet, len(rms)) if rms[w] > 0.5 * typical)
        cut_end = origin + resumed / 100  # the next track's first full window
        print(f"skip heard {cut_end - edge:.2f} s after the live edge at the command (segment {SEG} s, fade 0.2 s)")
        assert cut_end - edge <= SEG + 0.2 + 0.1, f"the skip was heard {cut_end - edge:.2f} s after the command"
        # The next track plays at full level: for half a second, or until the next skip's
        # edge (a busy machine can post it that soon after this cut).
        next_track = rms[resumed:max(resumed + 5, min(resumed + 50, following))]
        assert resumed - quiet < 5 and next_track.min() > 0.5 * typical, "the next track plays"
        # The fade (20 windows) begins at or after the edge: what was published stays as it was.
        assert rms[max(previous, first - 100):quiet - 20].min() > 0.5 * typical, "the track played until the cut"
        previous = resumed


def test_an_unknown_time_zone_is_one_clear_line_at_start_up(tmp_path):
    from click.testing import CliRunner

    from radiocalico.cli import main

    result = CliRunner().invoke(main, ["station", "--out", str(tmp_path / "out")],
                                env={"STATION_TIMEZONE": "Mars/Olympus_Mons"})
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: STATION_TIMEZONE must be an IANA time zone name such as UTC or "
                                     "Europe/Paris, not 'Mars/Olympus_Mons'")


def test_a_request_for_a_song_already_queued_takes_its_place(tmp_path, database):
    url, store = database
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(7):
        make_flac(lib / f"{i}.flac", 20.0, seed=i, artist=f"Band {i}", title=f"Tune {i}")
    out = tmp_path / "out"
    st = station(lib, out, url, rules=Rules(120, 30), speed=4.0)
    st.start()
    try:
        queued = wait_for(lambda: json.loads((out / METADATA_NAME).read_text()).get("next"))[-1]
        with store.reading() as connection:
            track = queries.search_library(connection, queued["title"], 1)[0]
        with store.writing() as connection:
            request = queries.add_request(connection, track, "t:someone")

        def adopted():
            entries = json.loads((out / METADATA_NAME).read_text())["next"]
            return [e for e in entries if e["item_id"] == queued["item_id"] and e["requested"]]

        entry = wait_for(adopted, timeout=30)[0]
    finally:
        st.stop()
    assert entry["reason"] == f"request:{request.id}" and entry["title"] == queued["title"]


def test_a_file_name_that_is_not_utf8_is_mirrored_for_requests(tmp_path, database):
    """Found by starting the dev server on a real library: a Latin-1 `Café.flac` stopped the
    station at start-up, its name unwritable to the database that requests search."""
    url, store = database
    lib = tmp_path / "lib"
    lib.mkdir()
    latin1 = os.fsdecode(os.path.join(os.fsencode(lib), b"Caf\xe9.flac"))
    make_flac(Path(latin1), 0.8, seed=1, artist="Accents", title="Café au lait")
    make_flac(lib / "plain.flac", 0.8, seed=2, artist="Plain", title="Plain")
    st = station(lib, tmp_path / "out", url)
    st.start()
    try:
        def mirrored():
            with store.reading() as connection:
                return queries.search_library(connection, "", 20)

        rows = wait_for(lambda: len(mirrored()) == 2 and mirrored())
    finally:
        st.stop()
    assert sorted(row.path for row in rows) == ["Café.flac", "plain.flac"]


def test_an_operator_disconnects_the_dj_and_the_rotation_comes_back(tmp_path, database):
    """The console's disconnect is a station command: the DJ's connection is closed, what was
    buffered airs, and the rotation comes back, while the DJ's software was still sending."""
    from radiocalico.station.live import LiveInput, LiveSettings

    from .test_live import MetadataWatch, credentials, dj_software

    url, store = database
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 30.0, seed=1, artist="Rotation", title="Back")
    settings = LiveSettings(port=0, crossfade_seconds=0.5, buffer_seconds=0.5, no_data_seconds=5.0,
                            silence_seconds=5.0, record=False)
    live = LiveInput(settings, credentials)
    st = Station(lib, tmp_path / "out", segment_seconds=SEG, renditions=("lossless",), database_url=url,
                 speed=1.0, live=live)
    st.start()
    watch = MetadataWatch(st.out)
    dj = None
    try:
        dj = dj_software(live.port, "sine=frequency=2000:duration=60", "-c:a", "flac", "-content_type",
                         "audio/ogg", "-f", "ogg")
        wait_for(lambda: watch.seen and watch.seen[-1][0] is True, timeout=20)
        with store.writing() as connection:
            command = queries.add_command(connection, "disconnect")

        def outcome():
            with store.reading() as connection:
                return queries.command(connection, command)[2]

        assert wait_for(outcome, timeout=10) == "disconnected dj"
        wait_for(lambda: watch.seen[-1][0] is False, timeout=10)
        assert watch.seen[-1][2:] == ("Rotation", "Back")
        wait_for(lambda: dj.poll() is not None, timeout=10)  # its connection was closed
    finally:
        if dj is not None and dj.poll() is None:
            dj.kill()
        watch.stop()
        st.stop()


def test_a_rescan_command_brings_a_new_file_to_the_library_at_once(tmp_path, database):
    """An upload asks the station to rescan: the new file is read and mirrored for the console
    and requests within seconds, not at the next 30 s pass."""
    url, store = database
    lib = tmp_path / "lib"
    lib.mkdir()
    make_flac(lib / "a.flac", 5.0, seed=1, artist="Old", title="Old")
    st = station(lib, tmp_path / "out", url, speed=1.0)
    st.start()
    try:
        def found(q):
            with store.reading() as connection:
                return queries.search_library(connection, q, 5)

        wait_for(lambda: found("Old"), timeout=20)
        (lib / "uploads").mkdir()
        make_flac(lib / "uploads" / "new.flac", 2.0, seed=2, artist="Fresh", title="Upload")
        with store.writing() as connection:
            queries.add_command(connection, "rescan")
        asked = time.monotonic()
        wait_for(lambda: found("Fresh"), timeout=20)
        assert time.monotonic() - asked < 10, "mirrored at the next library pass, not at once"
    finally:
        st.stop()


# --- the same rules across a restart ---------------------------------------------------------
# The station stopped and started again on the same folder and database (a deploy, a crash):
# its clock carries on from the end of what it published, and each rule below holds across
# the seam as it does within a run.

def test_the_night_block_holds_across_a_restart_at_the_end_of_the_night(tmp_path, caplog, database):
    url, store = database
    lib = tmp_path / "lib"
    for folder in ("night", "day"):
        (lib / folder).mkdir(parents=True)
        for i in range(4):
            make_flac(lib / folder / f"{i}.flac", 1.0, seed=i, artist=f"{folder} {i}", title=f"{folder} {i}")
    zone = ZoneInfo("Europe/Paris")
    _programme(store, {"Night": [("folder", "night", 1)], "Day": [("folder", "day", 1)]},
               blocks=[queries.Block("Night", "Night", (0, 1, 2, 3, 4), 0, 6 * 60),
                       queries.Block("Day", "Day", (0, 1, 2, 3, 4), 6 * 60, 24 * 60)])
    offset = datetime(2026, 12, 1, 5, 59, 50, tzinfo=zone).timestamp() - time.time()  # a Tuesday
    six = datetime(2026, 12, 1, 6, 0, tzinfo=zone).timestamp()
    starts = Starts(caplog)
    out = tmp_path / "out"

    def run(until):
        run_until(station(lib, out, url, zone=zone, clock=lambda: time.time() + offset), until)

    run(lambda: any(at > six - 4 for _, _, at in starts()))  # stopped before six
    seam = starts()[-1][2]
    run(lambda: any(at > six + 4 for _, _, at in starts()))
    seen = starts()
    assert seam < six and any(at > seam for _, _, at in seen)
    assert all(a.startswith("night") for a, _, at in seen if at < six - 1), seen
    after = [a for a, _, at in seen if at >= six + 1]
    assert after and all(a.startswith("day") for a in after), seen


def test_station_id_and_jingles_hold_across_a_restart(tmp_path, caplog, database):
    """Stopped while the second song of the hour's last minute plays (one song after the
    last jingle): after the restart that song resumes, is cut for the station ID exactly on
    the hour, and a jingle still comes every three songs."""
    url, store = database
    lib = _ids_and_jingles(tmp_path, store, song_seconds=20.0)
    hour = (int(time.time() // 3600) + 5) * 3600.0
    # With 1.5 s of pre-roll the songs start ~36 s and ~16 s before the hour: the second
    # plays on the hour (more than Decider.EARLY seconds after it began), and is cut there.
    offset = hour - 35.0 - time.time()
    starts = Starts(caplog)
    out = tmp_path / "out"

    def run(until):
        run_until(station(lib, out, url, rules=Rules(0, 0), clock=lambda: time.time() + offset), until)

    run(lambda: len(starts()) >= 2)
    seam = starts()[-1][2]
    assert seam < hour - 10, "the restart comes before the hour"
    run(lambda: sum(title == "Jingle" for _, title, _ in starts()) >= 2)
    seen = starts()
    assert [at for _, title, at in seen if title == "Station ID"] == [hour], seen
    _assert_a_jingle_every_three_songs(seen)


def test_a_queued_request_plays_after_a_restart(tmp_path, caplog, database):
    """A request the station had queued, then stopped before airing, airs after the restart,
    flagged, and is marked played."""
    url, store = database
    lib = _tunes(tmp_path, seconds=60.0)
    out = tmp_path / "out"
    st = station(lib, out, url, rules=Rules(0, 0))
    st.start()
    try:
        request = _request(store, "Tune 4")

        def status():
            with store.reading() as connection:
                return {r.id: r.status for r in queries.open_requests(connection)}.get(request.id, "played")

        wait_for(lambda: status() == "queued", timeout=30)
    finally:
        st.stop()
    meta = json.loads((out / METADATA_NAME).read_text())
    assert not meta.get("requested") and status() == "queued", "stopped before it aired"
    assert any(e["requested"] for e in meta["next"])
    st = station(lib, out, url, rules=Rules(0, 0))
    st.start()
    try:
        wait_for(lambda: json.loads((out / METADATA_NAME).read_text()).get("requested"), timeout=30)
        meta = json.loads((out / METADATA_NAME).read_text())
        assert meta["title"] == "Tune 4" and meta["reason"] == f"request:{request.id}"
        wait_for(lambda: status() == "played", timeout=5)
    finally:
        st.stop()


def test_an_item_the_operator_moved_keeps_its_place_across_a_restart(tmp_path, database):
    """The schedule's playlist decides the queue; the operator moves the fourth item to the
    top. After a restart, and a schedule edit then (which decides the rest of the queue
    again), the moved item is still next."""
    url, store = database
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(8):
        make_flac(lib / f"{i}.flac", 60.0, seed=i, artist=f"Band {i}", title=f"Tune {i}")
    _programme(store, {"All": [("folder", "", 1)]},
               blocks=[queries.Block("All day", "All", tuple(range(7)), 0, 24 * 60)])
    out = tmp_path / "out"

    def upcoming():
        return [e["item_id"] for e in json.loads((out / METADATA_NAME).read_text()).get("next", [])]

    st = station(lib, out, url, rules=Rules(0, 0), speed=2.0)
    st.start()
    try:
        moved = wait_for(lambda: len(upcoming()) >= 4 and upcoming())[3]
        with store.writing() as connection:
            command = queries.add_command(connection, "move", moved, 0)

        def applied():
            with store.reading() as connection:
                return queries.command(connection, command)[1] is not None

        wait_for(applied, timeout=10)
        wait_for(lambda: upcoming()[:1] == [moved], timeout=10)
    finally:
        st.stop()
    st = station(lib, out, url, rules=Rules(0, 0), speed=2.0)
    st.start()
    try:
        wait_for(lambda: st.segments_published >= 4)
        assert upcoming()[:1] == [moved]
        before = upcoming()
        _programme(store, {"All": [("folder", "", 1)], "Night": [("folder", "", 2)]},
                   blocks=[queries.Block("Night", "Night", tuple(range(7)), 0, 6 * 60),
                           queries.Block("Day", "All", tuple(range(7)), 6 * 60, 24 * 60)])
        wait_for(lambda: upcoming()[1:] != before[1:], timeout=20)  # decided again
        assert upcoming()[:1] == [moved]
    finally:
        st.stop()
