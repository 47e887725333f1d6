"""The console's library over a real socket, on SQLite and PostgreSQL: an upload validated as
the library validates files (a text file, a corrupt FLAC, an empty file, a 2 GB upload are
refused with the reason, and nothing reaches the folder the station plays), tag edits
written into the file, removal kept aside, the DJ disconnect command, all audited; a
listener gets 403 on each."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import mutagen
import pytest

from radiocalico.db import programming as queries
from radiocalico.services import services
from radiocalico.station.library import read_track
from tests.api.test_console import _account, _operator
from tests.station.audiofiles import make_flac


@pytest.fixture
def library(tmp_path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    return folder


@pytest.fixture
def app(make_app, library):
    return make_app(station_library=str(library), console_upload_max_mb=1)


def _upload(account, name: str, data: bytes):
    return account.request("POST", "/api/console/library", params={"name": name}, data=data,
                           headers={"Content-Type": "application/octet-stream"})


def _audio_files(library: Path) -> list[str]:
    return sorted(p.relative_to(library).as_posix() for p in library.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(library).parts))


def test_an_upload_is_validated_as_the_library_validates_files(app, live_server, library, tmp_path):
    olive = _operator(app, live_server)
    good = tmp_path / "good.flac"
    make_flac(good, 1.0, seed=1, artist="Uploaded Artist", title="Uploaded Song")
    answer = _upload(olive, "Good Song.flac", good.read_bytes())
    assert answer.status_code == 201, answer.text
    track = answer.json()
    assert (track["artist"], track["title"], track["path"]) == ("Uploaded Artist", "Uploaded Song",
                                                                 "uploads/Good Song.flac")
    assert read_track(library / "uploads" / "Good Song.flac").title == "Uploaded Song"
    again = _upload(olive, "Good Song.flac", good.read_bytes())
    assert again.json()["path"] == "uploads/Good Song (2).flac"  # nothing overwritten
    found = olive.request("GET", "/api/console/library", params={"q": "uploaded"}).json()
    assert [t["path"] for t in found["tracks"]] == ["uploads/Good Song (2).flac", "uploads/Good Song.flac"]

    refusals = {
        "notes.txt": (b"hello", 422, "not an audio file the library plays"),
        "fake.flac": (b"fLaC" + b"\x00garbage" * 500, 422, "is not audio the station can play"),
        "empty.mp3": (b"", 422, "is empty"),
        "big.flac": (b"\x00" * (1024 * 1024 + 1), 413, "the largest upload is 1 MB"),
    }
    for name, (data, status, words) in refusals.items():
        refused = _upload(olive, name, data)
        assert refused.status_code == status, (name, refused.text)
        error = refused.json()["error"]
        assert words in error["message"], (name, error)
        assert str(library) not in error["message"] and "Errno" not in error["message"]
    assert _audio_files(library) == ["uploads/Good Song (2).flac", "uploads/Good Song.flac"]
    assert not list((library / ".uploading").iterdir()), "refused uploads leave nothing behind"

    audit = olive.request("GET", "/api/console/audit").json()["entries"]
    assert [e["action"] for e in audit] == ["library.upload", "library.upload"]
    with services(app).store.reading() as connection:
        assert [c.op for c in queries.pending_commands(connection)] == ["rescan", "rescan"]


def test_a_two_gigabyte_upload_is_refused_before_it_is_sent(app, live_server):
    """Content-Length says 2 GB: the answer comes at once, without reading the body."""
    olive = _operator(app, live_server)
    host, port = live_server.url.split("//")[1].split(":")
    cookie = "; ".join(f"{c.name}={c.value}" for c in olive.http.cookies)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall((f"POST /api/console/library?name=huge.flac HTTP/1.1\r\nHost: {host}\r\n"
                      f"Content-Type: application/octet-stream\r\nContent-Length: {2 * 1024 ** 3}\r\n"
                      f"X-CSRF-Token: {olive.csrf}\r\nCookie: {cookie}\r\n\r\n").encode() + b"\x00" * 4096)
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes after the refusal
            answer += chunk
    head, _, body = answer.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413"), head
    assert json.loads(body)["error"]["message"] == "“huge.flac” is 2.0 GB; the largest upload is 1 MB."


def test_tags_are_written_into_the_file_and_a_removed_file_is_kept_aside(app, live_server, library, tmp_path):
    olive = _operator(app, live_server)
    make_flac(tmp_path / "a.flac", 1.0, seed=2, artist="Typo Artsit", title="Song")
    track = _upload(olive, "a.flac", (tmp_path / "a.flac").read_bytes()).json()
    edited = olive.request("PATCH", f"/api/console/library/{track['track_id']}",
                           json={"artist": "Typo Artist", "genre": "Ambient"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["artist"] == "Typo Artist" and edited.json()["genre"] == "Ambient"
    assert mutagen.File(library / "uploads" / "a.flac")["artist"] == ["Typo Artist"]
    bad = olive.request("PATCH", f"/api/console/library/{track['track_id']}", json={"title": "x" * 300})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "title"
    assert olive.request("PATCH", "/api/console/library/" + "0" * 20, json={}).status_code == 404

    assert olive.request("DELETE", f"/api/console/library/{track['track_id']}").status_code == 204
    assert _audio_files(library) == []
    assert (library / ".removed" / "uploads" / "a.flac").is_file()
    assert olive.request("GET", "/api/console/library").json()["tracks"] == []
    audit = olive.request("GET", "/api/console/audit").json()["entries"]
    assert [e["action"] for e in audit] == ["library.remove", "library.tags", "library.upload"]
    assert audit[1]["detail"]["before"] == {"artist": "Typo Artsit", "genre": ""}


def test_disconnect_is_a_station_command(app, live_server):
    olive = _operator(app, live_server)
    assert olive.request("GET", "/api/console/live").json() == {"on_air": False, "dj": None, "title": None,
                                                                "since": None}
    forged = olive.request("POST", "/api/console/live/disconnect", headers={"X-CSRF-Token": "nope"})
    assert forged.status_code == 403
    answer = olive.request("POST", "/api/console/live/disconnect")
    assert answer.status_code == 202 and answer.json()["op"] == "disconnect"
    with services(app).store.reading() as connection:
        assert [c.op for c in queries.pending_commands(connection)] == ["disconnect"]


def test_a_listener_gets_403_on_the_console_library(app, live_server, tmp_path, library):
    lenny = _account(live_server, "lenny")
    make_flac(tmp_path / "a.flac", 1.0, seed=3)
    for method, path, kwargs in (
        ("GET", "/api/console/library", {}),
        ("POST", "/api/console/library?name=a.flac", {"data": (tmp_path / "a.flac").read_bytes()}),
        ("PATCH", "/api/console/library/" + "0" * 20, {"json": {"artist": "x"}}),
        ("DELETE", "/api/console/library/" + "0" * 20, {}),
        ("GET", "/api/console/live", {}),
        ("POST", "/api/console/live/disconnect", {}),
    ):
        response = lenny.request(method, path, **kwargs)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "operator_required"
    assert _audio_files(library) == []


def test_the_console_lists_open_requests(app, live_server):
    olive = _operator(app, live_server)
    lenny = _account(live_server, "lenny")
    tid = queries.track_id("a/1.flac")
    with services(app).store.writing() as connection:
        queries.mirror_library(connection, [queries.LibraryTrack(tid, "1" * 32, "a/1.flac", "Asked Artist",
                                                                 "Asked Song", "", "", 60.0)])
    assert lenny.request("POST", "/api/requests", json={"track_id": tid}).status_code == 201
    answer = olive.request("GET", "/api/console/requests")
    assert answer.status_code == 200
    [entry] = answer.json()["requests"]
    assert (entry["artist"], entry["title"], entry["status"]) == ("Asked Artist", "Asked Song", "waiting")
    assert lenny.request("GET", "/api/console/requests").status_code == 403


def test_a_format_without_writable_tags_and_an_unreachable_library_are_said_plainly(
        app, live_server, make_app, make_live_server, library, tmp_path):
    from tests.station.audiofiles import noise_pcm, write_pcm

    olive = _operator(app, live_server)
    wav = write_pcm(tmp_path / "take.wav", noise_pcm(1.0, 48000, 24), 48000, 24, "pcm_s24le", "wav")
    track = _upload(olive, "take.wav", wav.read_bytes()).json()
    before = (library / "uploads" / "take.wav").read_bytes()
    answer = olive.request("PATCH", f"/api/console/library/{track['track_id']}", json={"artist": "Someone"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "tags_unsupported"
    assert "cannot write tags into “take.wav” (WAV files)" in answer.json()["error"]["message"]
    assert (library / "uploads" / "take.wav").read_bytes() == before

    elsewhere = make_app(station_library="")  # an external station whose folder this app cannot reach
    server = make_live_server(elsewhere)
    oscar = _operator(elsewhere, server, "oscar")
    refused = _upload(oscar, "take.wav", wav.read_bytes())
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_library"
    assert "set STATION_LIBRARY" in refused.json()["error"]["message"]
    assert oscar.request("GET", "/api/console/library").json()["folder"] is False
