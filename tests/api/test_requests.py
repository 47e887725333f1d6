"""Listeners search the library and request tracks, over HTTP, as the player would."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from radiocalico.db import plays
from radiocalico.db import programming as queries
from radiocalico.services import services
from radiocalico.songs import song_id
from tests.api.conftest import anonymous_session


def _library(app, *songs: tuple[str, str, str]) -> list[queries.LibraryTrack]:
    """The library as the station mirrors it (station/programming.py)."""
    tracks = [queries.LibraryTrack(queries.track_id(path), song_id(artist, title), path, artist, title,
                                   "Album", "", 200.0)
              for path, artist, title in songs]
    with services(app).store.writing() as connection:
        queries.mirror_library(connection, tracks)
    return tracks


def test_search_the_library_and_request_a_track(app, live_server):
    tracks = _library(app, ("a/1.flac", "Shandi", "He's A Dream"), ("b/2.flac", "Irene Cara", "Flashdance"))
    http = anonymous_session(live_server.url, "requester")
    found = http.get(f"{live_server.url}/api/library", params={"q": "dream"}).json()["tracks"]
    assert [t["title"] for t in found] == ["He's A Dream"] and found[0]["track_id"] == tracks[0].track_id
    response = http.post(f"{live_server.url}/api/requests", json={"track_id": found[0]["track_id"]})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "waiting" and response.json()["waiting"] == 0
    # Asked again (by anyone) within the hour: refused, with the reason.
    other = anonymous_session(live_server.url, "another")
    again = other.post(f"{live_server.url}/api/requests", json={"track_id": found[0]["track_id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "requested_recently"
    assert "minutes" in again.json()["error"]["message"]


def test_a_song_played_within_the_hour_cannot_be_requested(app, live_server):
    tracks = _library(app, ("a/1.flac", "Shandi", "He's A Dream"), ("a/1 copy.flac", "Shandi", "He's a dream"))
    started = datetime.now(timezone.utc) - timedelta(minutes=20)
    with services(app).store.writing() as connection:
        plays.record(connection, [plays.PlayStart("pdt:x", tracks[0].song_id, started, "Shandi", "He's A Dream")])
    http = anonymous_session(live_server.url, "requester")
    # The copy in another folder is the same song.
    response = http.post(f"{live_server.url}/api/requests", json={"track_id": tracks[1].track_id})
    assert response.status_code == 409 and response.json()["error"]["code"] == "played_recently"
    assert "40 minutes" in response.json()["error"]["message"]


def test_bad_requests_get_clear_answers(app, live_server):
    _library(app, ("a/1.flac", "Shandi", "He's A Dream"))
    http = anonymous_session(live_server.url, "requester")
    unknown = http.post(f"{live_server.url}/api/requests", json={"track_id": "0" * 20})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_track"
    malformed = http.post(f"{live_server.url}/api/requests", json={"track_id": "../etc"})
    assert malformed.status_code == 422
    import requests

    nobody = requests.post(f"{live_server.url}/api/requests", json={"track_id": "0" * 20})
    assert nobody.status_code == 400 and nobody.json()["error"]["code"] == "listener_required"


def test_requests_are_limited_per_listener(app, live_server):
    tracks = _library(app, *[(f"a/{i}.flac", f"Artist {i}", f"Title {i}") for i in range(5)])
    http = anonymous_session(live_server.url, "eager")
    answers = [http.post(f"{live_server.url}/api/requests", json={"track_id": t.track_id}).status_code
               for t in tracks[:4]]
    assert answers == [201, 201, 201, 429]  # RATELIMIT_REQUESTS 3/hour
    other = anonymous_session(live_server.url, "patient")
    assert other.post(f"{live_server.url}/api/requests", json={"track_id": tracks[4].track_id}).status_code == 201


def test_now_playing_says_what_plays_next_and_that_a_request_is_playing(make_app, tmp_path):
    import json

    from radiocalico import stream_layout
    from radiocalico.station.encoders import ladder
    from radiocalico.station.publisher import build_metadata

    out = tmp_path / "stream"
    out.mkdir()
    history = [{"artist": "Shandi", "title": "He's A Dream", "album": "Flashdance", "date": "1983",
                "bit_depth": 16, "sample_rate": 44100, "started_at": 1_790_000_000.0,
                "song_id": song_id("Shandi", "He's A Dream"), "is_new": False, "is_summer": False,
                "is_vidgames": False, "requested": True, "reason": "request:1"}]
    meta = build_metadata(history, [r.describe() for r in ladder(["lossless"], frame_size=4096)])
    meta["next"] = [{"item_id": "0123456789ab", "artist": "Irene Cara", "title": "Flashdance", "album": "",
                     "cover_url": "covers/art-abc.jpg", "reason": "rotation", "requested": False,
                     "relaxed": True, "starts_at": "2026-09-21T14:00:00.000Z"}]
    (out / stream_layout.METADATA_NAME).write_text(json.dumps(meta))
    app = make_app(station_out=str(out), history_poll_seconds=0)
    services(app).recorder.poll()
    body = app.test_client().get("/api/now-playing").get_json()
    assert body["current"]["requested"] is True
    assert body["next"] == [{**meta["next"][0], "cover_url": "/stream/covers/art-abc.jpg",
                             "starts_at": "2026-09-21T14:00:00Z"}]
    quiet = make_app(station_out=str(out), history_poll_seconds=0, station_publish_next=False)
    services(quiet).recorder.poll()
    assert quiet.test_client().get("/api/now-playing").get_json()["next"] == []
