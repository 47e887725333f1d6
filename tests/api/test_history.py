"""Play history: recorded exactly once by any number of replicas, paged exactly once,
public and cacheable, and bad queries refused with a 422."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from radiocalico import stream_layout
from radiocalico.services import services
from radiocalico.songs import song_id
from radiocalico.station.encoders import ladder
from radiocalico.station.publisher import build_metadata

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc).timestamp()


def track(n: int, started_at: float, album: str = "") -> dict:
    """A record as the station's publisher keeps it."""
    artist, title = f"Artist {n % 7}", f"Song {n}"
    return {
        "artist": artist, "title": title, "album": album or f"Album {n}", "date": "2020",
        "bit_depth": 16, "sample_rate": 44100, "started_at": started_at,
        "song_id": song_id(artist, title), "cover_version": f"v{n}", "path": f"/lib/{n}.flac",
        "is_new": False, "is_summer": False, "is_vidgames": False,
    }


def cover_jpeg(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 600), colour).save(out, format="JPEG")
    return out.getvalue()


class FakeStation:
    """Writes metadatav2.json (and cover.jpg) exactly as the station's publisher does."""

    def __init__(self, out: Path):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.history: list[dict] = []

    def play(self, n: int, started_at: float, colour=(200, 30, 30)) -> None:
        self.history = (self.history + [track(n, started_at)])[-6:]
        meta = build_metadata(self.history, [r.describe() for r in ladder(['lossless'], frame_size=4096)])
        (self.out / stream_layout.COVER_NAME).write_bytes(cover_jpeg(colour))
        versioned = self.out / stream_layout.versioned_cover_path(meta["cover_version"])
        versioned.parent.mkdir(exist_ok=True)
        versioned.write_bytes(cover_jpeg(colour))
        (self.out / stream_layout.METADATA_NAME).write_text(json.dumps(meta))


@pytest.fixture
def station(tmp_path) -> FakeStation:
    return FakeStation(tmp_path / "stream")


@pytest.fixture
def replicas(make_app, station):
    """Two app replicas on one database, both reading the station's folder."""
    return [make_app(station_out=str(station.out), history_poll_seconds=0) for _ in range(2)]


def poll_all(apps) -> None:
    for app in apps:
        services(app).recorder.poll()


def all_plays(client) -> list[dict]:
    plays, cursor = [], None
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/history", query_string=query).get_json()
        plays += body["plays"]
        cursor = body["next_cursor"]
        if cursor is None:
            return plays


def test_a_start_is_recorded_once_by_two_replicas_and_across_a_station_restart(replicas, station):
    client = replicas[0].test_client()
    for n in range(4):
        station.play(n, T0 + 240 * n)
        poll_all(replicas)
        poll_all(replicas)
    # Replica 1 was down for two tracks: the five previous starts fill the gap.
    station.play(4, T0 + 240 * 4)
    services(replicas[0]).recorder.poll()
    station.play(5, T0 + 240 * 5)
    poll_all(replicas)
    # The station restarts: its history comes back from its state file and it goes on.
    saved = list(station.history)
    restarted = FakeStation(station.out)
    restarted.history = saved
    restarted.play(6, T0 + 240 * 6 + 30)
    poll_all(replicas)
    poll_all(reversed(replicas))

    plays = all_plays(client)
    assert [p["title"] for p in plays] == [f"Song {n}" for n in range(6, -1, -1)]
    assert len({p["id"] for p in plays}) == 7
    started = datetime.fromisoformat(plays[0]["started_at"].replace("Z", "+00:00"))
    assert started == datetime.fromtimestamp(T0 + 240 * 6 + 30, timezone.utc)
    assert plays[0]["album"] == "Album 6" and plays[0]["year"] == "2020"
    assert plays[0]["bit_depth"] == 16 and plays[0]["sample_rate"] == 44100


def _thumbnail_colour(client, song: str) -> tuple[int, ...]:
    cover = client.get(f"/api/songs/{song}/cover.jpg")
    assert cover.status_code == 200
    return Image.open(io.BytesIO(cover.data)).convert("RGB").getpixel((64, 64))


def test_each_song_keeps_its_own_cover_when_cover_jpg_has_already_moved_on(replicas, station):
    """The recorder reads the metadata, then the cover: if the next track started between
    the two reads, cover.jpg is already the next song's. The versioned cover is not."""
    red, blue = (200, 30, 30), (30, 30, 200)
    station.play(1, T0, colour=red)
    # The next track's art lands in cover.jpg before the recorder reads it.
    (station.out / stream_layout.COVER_NAME).write_bytes(cover_jpeg(blue))
    poll_all(replicas)
    client = replicas[0].test_client()
    kept = _thumbnail_colour(client, track(1, T0)["song_id"])
    assert all(abs(a - b) < 40 for a, b in zip(kept, red)), kept


def test_now_playing_gives_the_start_the_five_previous_and_a_cover(replicas, station):
    for n in range(8):
        station.play(n, T0 + 240 * n)
        poll_all(replicas)
    client = replicas[1].test_client()
    response = client.get("/api/now-playing")
    body = response.get_json()
    assert body["current"]["title"] == "Song 7"
    assert [p["title"] for p in body["previous"]] == [f"Song {n}" for n in range(6, 1, -1)]
    assert body["current"]["cover_url"].endswith(f"/api/songs/{body['current']['song_id']}/cover.jpg")
    cover = client.get(body["current"]["cover_url"])
    assert cover.status_code == 200 and cover.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(cover.data)).size == (128, 128)
    # Public and cacheable: open CORS without credentials, an ETag, a 304 when unchanged.
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get("/api/now-playing", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_votes_are_for_played_songs_and_charts_show_the_stations_text(replicas, station):
    client = replicas[0].test_client()
    first = track(1, T0)
    body = {"value": "up", "artist": first["artist"].upper(), "title": first["title"],
            "album": "typo"}
    headers = {"X-Listener-Fingerprint": "ab" * 16}
    assert client.get("/api/listener").status_code == 200  # the token cookie the page sets
    vote = lambda: client.put(f"/api/ratings/{first['song_id']}/vote", json=body, headers=headers)
    assert vote().status_code == 404  # not played yet
    # The track has just started: the recorder has not looked yet, the vote makes it look.
    station.play(1, T0)
    assert vote().status_code == 200
    chart = client.get("/api/charts/top-rated", query_string={"period": "all"}).get_json()
    song = chart["songs"][0]
    assert (song["artist"], song["title"], song["album"]) == ("Artist 1", "Song 1", "Album 1")


def test_paging_search_and_time_range(replicas, station):
    for n in range(12):
        station.play(n, T0 + 240 * n)
        poll_all(replicas)
    client = replicas[0].test_client()
    plays = all_plays(client)
    assert [p["title"] for p in plays] == [f"Song {n}" for n in range(11, -1, -1)]
    found = client.get("/api/history", query_string={"q": "artist 3"}).get_json()["plays"]
    assert [p["title"] for p in found] == ["Song 10", "Song 3"]
    # Every word must be in the artist or the title, in any case and order.
    found = client.get("/api/history", query_string={"q": "  1   SONG "}).get_json()["plays"]
    assert {p["title"] for p in found} == {"Song 1", "Song 10", "Song 11", "Song 8"}  # Artist 1
    found = client.get("/api/history", query_string={"q": "song 11 artist 4"}).get_json()["plays"]
    assert [p["title"] for p in found] == ["Song 11"]
    assert client.get("/api/history", query_string={"q": "100%_"}).get_json()["plays"] == []
    since = datetime.fromtimestamp(T0 + 240 * 2, timezone.utc).isoformat()
    until = datetime.fromtimestamp(T0 + 240 * 5, timezone.utc).isoformat()
    ranged = client.get("/api/history", query_string={"since": since, "until": until}).get_json()
    assert [p["title"] for p in ranged["plays"]] == ["Song 4", "Song 3", "Song 2"]


@pytest.mark.parametrize("query", [
    {"cursor": "not-a-cursor"},
    {"cursor": "x" * 500},
    {"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
    {"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    {"since": "2026-03-01T00:00:00"},  # no time zone
    {"q": "x" * 101},
    {"q": "bad\x00byte"},
    {"limit": 1000},
])
def test_bad_history_queries_get_a_422(client, query):
    response = client.get("/api/history", query_string=query)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_search_folds_case_beyond_ascii(replicas, station):
    station.history = [dict(track(1, T0), artist="Émile Ünïcode", title="Ça Va",
                            song_id=song_id("Émile Ünïcode", "Ça Va"))]
    station.play(2, T0 + 240)
    poll_all(replicas)
    client = replicas[0].test_client()
    found = client.get("/api/history", query_string={"q": "ÉMILE ça"}).get_json()["plays"]
    assert [p["title"] for p in found] == ["Ça Va"]


def test_retention_forgets_old_plays(make_app, station):
    app = make_app(station_out=str(station.out), history_poll_seconds=0, history_retention_days=30)
    now = datetime.now(timezone.utc)
    station.play(1, (now - timedelta(days=40)).timestamp())
    station.play(2, (now - timedelta(days=1)).timestamp())
    services(app).recorder.poll()
    assert services(app).recorder.apply_retention() == 1
    assert [p["title"] for p in all_plays(app.test_client())] == ["Song 2"]


def test_upstream_metadata_without_times_is_recorded_once(make_app, tmp_path):
    """The public CDN publishes no start times: the start is the time first seen, and two
    replicas seeing it at different times still record it once."""
    from radiocalico.recorder import starts_in

    meta = {"artist": "A", "title": "T", "album": "Al", "prev_artist_1": "B", "prev_title_1": "U"}
    first = starts_in(meta, datetime(2026, 3, 1, 12, 0, 1, tzinfo=timezone.utc))
    later = starts_in(meta, datetime(2026, 3, 1, 12, 0, 4, tzinfo=timezone.utc))
    assert len(first) == 1 and first[0].play_key == later[0].play_key
    app = make_app()
    from radiocalico.db import plays as queries

    with services(app).store.writing() as connection:
        assert len(queries.record(connection, first)) == 1
        assert queries.record(connection, later) == []


@pytest.mark.parametrize("setting, value", [
    ("history_poll_seconds", -1.0), ("history_retention_days", -5),
    ("stream_listener_window_seconds", 2), ("embed_origins", ("javascript:alert(1)",)),
])
def test_a_bad_setting_is_named_at_start_up(setting, value, tmp_path):
    from radiocalico.config import Config

    with pytest.raises(ValueError, match=setting.upper()):
        Config(instance_path=tmp_path, **{setting: value})


def test_public_reads_are_open_to_any_site_without_credentials(make_app):
    """Even with CORS_ORIGINS set for the credentialed API, public reads answer any origin
    with `*` and never allow credentials; personal reads stay closed."""
    app = make_app(cors_origins=("https://partner.example",), history_poll_seconds=0)
    client = app.test_client()
    for path in ("/api/now-playing", "/api/history", "/api/charts/most-played", "/api/listeners"):
        response = client.get(path, headers={"Origin": "https://elsewhere.example"})
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
    likes = client.get("/api/likes", headers={"Origin": "https://elsewhere.example",
                                              "X-Listener-Fingerprint": "cd" * 16})
    assert "Access-Control-Allow-Origin" not in likes.headers


def test_search_finds_the_real_plays_among_look_alike_songs(make_app):
    """Issue 21, finding 4: with 600 look-alike song rows (votes made them, with no play), a
    search for `chorale` found none of its 4 real plays: it took the first 500 matching
    songs, unordered. Songs without a play are never matched; the newest plays come first."""
    from sqlalchemy import insert

    from radiocalico.db.schema import songs
    from tests.conftest import station_played

    app = make_app(history_poll_seconds=0)
    store = services(app).store
    with store.writing() as connection:
        connection.execute(insert(songs), [
            {"id": song_id("Bach", f"Chorale {n}"), "artist": "Bach", "title": f"Chorale {n}",
             "first_seen": datetime.now(timezone.utc)} for n in range(600)])
    real = [(song_id("Bach", f"Chorale BWV {n}"), "Bach", f"Chorale BWV {n}", "") for n in range(4)]
    station_played(store, *real)
    client = app.test_client()
    for q in ("chorale", "CHORALE bwv", "ch"):  # a short word alone too
        found = client.get("/api/history", query_string={"q": q}).get_json()["plays"]
        assert sorted(p["title"] for p in found) == [f"Chorale BWV {n}" for n in range(4)], q
