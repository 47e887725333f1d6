"""The operators' console API: only operators, CSRF, station commands, playlists, the
schedule's bad input, the audit trail, and the CLI that makes an operator."""

from __future__ import annotations

from click.testing import CliRunner

from radiocalico.cli import main as cli
from radiocalico.db import programming as queries
from radiocalico.services import services
from tests.api.test_users import Account


def _account(live_server, name: str) -> Account:
    account = Account(live_server.url)
    assert account.register(name, f"{name}@example.org").status_code == 201
    return account


def _operator(app, live_server, name="olive") -> Account:
    account = _account(live_server, name)
    result = CliRunner().invoke(cli, ["user", "grant-operator", f"{name.upper()}@example.org"],
                                env={"DATABASE_URL": services(app).config.database_url})
    assert result.exit_code == 0, result.output
    assert "is now an operator" in result.output
    return account


def test_a_listener_gets_403_on_the_console(app, live_server):
    listener = _account(live_server, "lenny")
    for method, path in (("GET", "/api/console/queue"), ("POST", "/api/console/skip"),
                         ("GET", "/api/console/audit"), ("PUT", "/api/console/schedule"),
                         ("GET", "/api/console/playlists")):
        response = listener.request(method, path, json={})
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "operator_required"


def test_grant_and_revoke_operator(app, live_server):
    olive = _operator(app, live_server)
    assert olive.request("GET", "/api/console/queue").status_code == 200
    result = CliRunner().invoke(cli, ["user", "revoke-operator", "olive@example.org"],
                                env={"DATABASE_URL": services(app).config.database_url})
    assert result.exit_code == 0
    assert olive.request("GET", "/api/console/queue").status_code == 403
    missing = CliRunner().invoke(cli, ["user", "grant-operator", "nobody@example.org"],
                                 env={"DATABASE_URL": services(app).config.database_url})
    assert missing.exit_code != 0 and "no account" in missing.output


def test_skip_is_a_station_command_in_the_audit_trail(app, live_server):
    olive = _operator(app, live_server)
    forged = olive.request("POST", "/api/console/skip", headers={"X-CSRF-Token": "wrong"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    response = olive.request("POST", "/api/console/skip")
    assert response.status_code == 202, response.text
    command = response.json()
    assert command["op"] == "skip" and command["applied_at"] is None
    # The station applies it and says how.
    with services(app).store.writing() as connection:
        pending = queries.pending_commands(connection)
        assert [c.id for c in pending] == [command["command_id"]]
        queries.command_done(connection, pending[0].id, "skipped")
    done = olive.request("GET", f"/api/console/commands/{command['command_id']}").json()
    assert done["op"] == "skip" and done["outcome"] == "skipped" and done["applied_at"]
    assert olive.request("GET", "/api/console/commands/999").status_code == 404
    moved = olive.request("POST", "/api/console/queue/0123456789ab/move", json={"position": 0})
    assert moved.status_code == 202
    audit = olive.request("GET", "/api/console/audit").json()["entries"]
    assert [(e["username"], e["action"]) for e in audit] == [("olive", "queue.move"), ("olive", "skip")]
    assert audit[0]["detail"]["position"] == 0


def test_playlists_and_a_schedule_with_its_gaps(app, live_server):
    olive = _operator(app, live_server)
    with services(app).store.writing() as connection:
        queries.mirror_library(connection, [
            queries.LibraryTrack(queries.track_id("night/1.flac"), "0" * 32, "night/1.flac", "A", "T", "", "", 1.0)])
    night = olive.request("PUT", "/api/console/playlists/Night",
                          json={"entries": [{"kind": "folder", "value": "night", "weight": 3}]})
    assert night.status_code == 200 and night.json()["tracks"] == 1
    empty = olive.request("PUT", "/api/console/playlists/Empty", json={"entries": []})
    assert empty.json()["tracks"] == 0
    schedule = {"blocks": [{"name": "Night", "playlist": "Night", "days": ["mon", "tue", "wed", "thu", "fri"],
                            "start": "00:00", "end": "06:00"}],
                "timed": [{"kind": "top_of_hour", "playlist": "Empty"},
                          {"kind": "every_n", "every": 4, "playlist": "Empty"}]}
    answer = olive.request("PUT", "/api/console/schedule", json=schedule)
    assert answer.status_code == 200, answer.text
    gaps = answer.json()["gaps"]
    assert gaps[0] == "mon 06:00-24:00: the whole library plays"
    assert any(g.startswith("fri 06:00-24:00 (sun)") for g in gaps), gaps
    assert olive.request("GET", "/api/console/schedule").json()["blocks"] == answer.json()["blocks"]


def test_a_schedule_that_overlaps_or_names_no_playlist_is_refused(app, live_server):
    olive = _operator(app, live_server)
    olive.request("PUT", "/api/console/playlists/Night", json={"entries": [{"kind": "genre", "value": "ambient"}]})
    overlapping = {"blocks": [
        {"name": "Night", "playlist": "Night", "start": "22:00", "end": "06:00"},
        {"name": "Early", "playlist": "Night", "days": ["tue"], "start": "05:00", "end": "09:00"},
    ]}
    answer = olive.request("PUT", "/api/console/schedule", json=overlapping)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "blocks_overlap"
    assert "“Night” and “Early” overlap (from tue 05:00)" in answer.json()["error"]["message"]
    unknown = olive.request("PUT", "/api/console/schedule",
                            json={"blocks": [{"name": "X", "playlist": "Nope", "start": "10:00", "end": "11:00"}]})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_playlist"
    bad_time = olive.request("PUT", "/api/console/schedule",
                             json={"blocks": [{"name": "X", "playlist": "Night", "start": "25:00", "end": "11:00"}]})
    assert bad_time.status_code == 422
    assert olive.request("GET", "/api/console/schedule").json()["blocks"] == []
