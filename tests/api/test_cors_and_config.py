"""Cross-origin calls only from configured origins; the player's stream addresses."""

from __future__ import annotations

import os
import secrets

import pytest
import requests

from radiocalico.config import PUBLIC_CDN_URL


def test_no_cross_origin_access_by_default(live_server):
    response = requests.get(
        f"{live_server.url}/api/ratings/top", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_configured_origin_is_allowed_and_others_are_not(make_app, make_live_server):
    server = make_live_server(make_app(cors_origins=("https://radio.example",)))
    allowed = requests.options(
        f"{server.url}/api/ratings/top",
        headers={"Origin": "https://radio.example", "Access-Control-Request-Method": "GET"},
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://radio.example"
    other = requests.get(
        f"{server.url}/api/ratings/top", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_player_is_pointed_at_our_own_stream(make_app, make_live_server):
    server = make_live_server(make_app(station_mode="embedded"))
    config = requests.get(f"{server.url}/api/config").json()
    assert config["stream_url"] == "/stream/hls/live.m3u8"
    assert config["native_stream_url"] == "/stream/hls/master_aac.m3u8"  # one codec family
    assert config["metadata_url"] == "/stream/metadatav2.json"


def test_a_lossless_only_station_offers_native_players_its_one_family_master(make_app, make_live_server):
    server = make_live_server(make_app(station_mode="embedded", station_renditions=("lossless",)))
    config = requests.get(f"{server.url}/api/config").json()
    assert config["native_stream_url"] == config["stream_url"] == "/stream/hls/live.m3u8"


def test_upstream_mode_points_the_player_at_the_public_cdn(make_app, make_live_server):
    server = make_live_server(make_app(station_mode="upstream"))
    config = requests.get(f"{server.url}/api/config").json()
    assert config["stream_url"] == config["native_stream_url"] == f"{PUBLIC_CDN_URL}/hls/live.m3u8"
    assert config["cover_url"] == f"{PUBLIC_CDN_URL}/cover.jpg"


def test_the_placeholder_secret_key_refuses_to_start(tmp_path):
    """Finding 10: the .env.example placeholder SECRET_KEY was accepted silently."""
    import subprocess
    import sys
    from pathlib import Path

    # deploy/.env.example now leaves SECRET_KEY empty; this is the placeholder it shipped.
    placeholder = "change-me-openssl-rand-hex-32"
    result = subprocess.run(
        [sys.executable, "-c", "from radiocalico import create_app; create_app()"],
        env={"SECRET_KEY": placeholder, "INSTANCE_PATH": str(tmp_path),
             "STATION_MODE": "external", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("weak", ["x", " ", "secret", "changeme", "x" * 40,
                                  "changeme" * 5, "Secret-Secret-Secret-Secret-Secret"])
def test_a_guessable_secret_key_refuses_to_start_with_one_line(tmp_path, weak):
    """Issue 21: SECRET_KEY values like `x` or `changeme` were accepted, and listener tokens
    (stateless, signed with it) could then be minted by whoever guessed it."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from radiocalico import create_app; create_app()"],
        env={"SECRET_KEY": weak, "INSTANCE_PATH": str(tmp_path), "STATION_MODE": "external",
             "PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr.strip().splitlines()[-1]


def test_a_random_secret_key_and_the_generated_one_start(tmp_path):
    from radiocalico.config import Config

    assert Config(secret_key=secrets.token_hex(32)).secret_key
    generated = Config(instance_path=tmp_path, station_mode="embedded").resolved_secret_key()
    assert Config(secret_key=generated).secret_key == generated
