"""Absolute links the app writes use the configured PUBLIC_URL, never the request's Host
(issue 21: a forged Host was reflected into cover URLs and the embed card's link)."""

from __future__ import annotations

import pytest

from radiocalico.services import services
from tests.api.test_history import T0, FakeStation

FORGED = {"Host": "evil.example"}


@pytest.fixture
def station(tmp_path) -> FakeStation:
    return FakeStation(tmp_path / "stream")


def _links(app, station) -> tuple[str, str]:
    station.play(1, T0)
    services(app).recorder.poll()
    client = app.test_client()
    cover = client.get("/api/now-playing", headers=FORGED).get_json()["current"]["cover_url"]
    card = client.get("/embed", headers=FORGED).get_data(as_text=True)
    return cover, card


def test_without_a_public_url_links_are_relative(make_app, station):
    app = make_app(station_out=str(station.out), history_poll_seconds=0)
    cover, card = _links(app, station)
    assert cover.startswith("/api/songs/") and cover.endswith("/cover.jpg")
    assert 'href="/"' in card and "evil.example" not in card
    assert app.test_client().get(cover).status_code == 200


def test_with_a_public_url_links_use_it(make_app, station):
    app = make_app(station_out=str(station.out), history_poll_seconds=0,
                   public_url="https://radio.example")
    cover, card = _links(app, station)
    assert cover.startswith("https://radio.example/api/songs/")
    assert 'href="https://radio.example/"' in card and "evil.example" not in card


@pytest.mark.parametrize("bad", ["radio.example", "https://radio.example/", "javascript:x"])
def test_a_public_url_that_is_not_an_origin_is_refused(make_config, bad):
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        make_config(public_url=bad)
