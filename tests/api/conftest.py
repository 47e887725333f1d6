"""Helpers for talking to the API the way the player does."""

from __future__ import annotations

import hashlib

import pytest
import requests

from radiocalico.services import services
from radiocalico.songs import song_id
from tests.conftest import station_played


def fingerprint(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def song(artist: str = "Shandi", title: str = "He's A Dream", album: str = "Flashdance") -> dict:
    return {"id": song_id(artist, title), "artist": artist, "title": title, "album": album}


def play(app, *tracks: dict) -> None:
    """The station plays `tracks` (tests.conftest.station_played)."""
    station_played(services(app).store,
                   *((t["id"], t["artist"], t["title"], t["album"]) for t in tracks))


def anonymous_session(base_url: str, name: str) -> requests.Session:
    """A browser as an anonymous listener: its fingerprint header and listener token."""
    http = requests.Session()
    http.headers["X-Listener-Fingerprint"] = fingerprint(name)
    # The page sets the listener token cookie; a script asks for it.
    http.get(f"{base_url}/api/listener").raise_for_status()
    return http


class Listener:
    """One anonymous listener (a browser) talking to a live server. The player votes on the
    song it is playing: `vote` has the station play the track first (`play`)."""

    def __init__(self, base_url: str, name: str, app=None):
        self.base_url = base_url
        self.app = app
        self.http = anonymous_session(base_url, name)

    def vote(self, track: dict, value: str) -> requests.Response:
        if self.app is not None:
            play(self.app, track)
        body = {"value": value, "artist": track["artist"], "title": track["title"],
                "album": track["album"]}
        return self.http.put(f"{self.base_url}/api/ratings/{track['id']}/vote", json=body)

    def retract(self, track: dict) -> requests.Response:
        return self.http.delete(f"{self.base_url}/api/ratings/{track['id']}/vote")

    def rating(self, track: dict) -> dict:
        response = self.http.get(f"{self.base_url}/api/ratings/{track['id']}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def listener(live_server):
    def make(name: str = "listener-1") -> Listener:
        return Listener(live_server.url, name, live_server.app)

    return make
