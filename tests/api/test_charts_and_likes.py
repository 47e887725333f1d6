"""Charts match a brute-force aggregate of the votes and plays; likes follow the voter key."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert

from radiocalico.db import plays as play_queries
from radiocalico.db.schema import songs, votes
from radiocalico.services import services
from radiocalico.songs import song_id
from tests.api.conftest import fingerprint, song

NOW = datetime.now(timezone.utc)


def _seed(app, rng: random.Random):
    """40 songs, 30 voters voting at random times over 60 days, 300 plays."""
    catalogue = [(f"Artist {n}", f"Title {n}") for n in range(40)]
    rows, plays_rows = [], []
    with services(app).store.writing() as connection:
        connection.execute(insert(songs), [
            {"id": song_id(a, t), "artist": a, "title": t, "album": "", "first_seen": NOW}
            for a, t in catalogue
        ])
        for voter in range(30):
            for a, t in rng.sample(catalogue, 15):
                at = NOW - timedelta(days=rng.uniform(0, 60))
                rows.append({"song_id": song_id(a, t), "voter": f"f:{voter}", "user_id": None,
                             "value": rng.choice((1, 1, -1)), "created_at": at, "updated_at": at})
        connection.execute(insert(votes), rows)
        starts = []
        for n in range(300):
            a, t = rng.choice(catalogue)
            at = NOW - timedelta(days=rng.uniform(0, 60))
            starts.append(play_queries.PlayStart(f"test:{n}", song_id(a, t), at, a, t))
            plays_rows.append((song_id(a, t), at))
        play_queries.record(connection, starts)
    return rows, plays_rows


def _expected_top(rows, since):
    up, down = Counter(), Counter()
    for r in rows:
        if since is None or r["updated_at"] >= since:
            (up if r["value"] == 1 else down)[r["song_id"]] += 1
    ranked = sorted((s for s in up if up[s] > 0), key=lambda s: (-(up[s] - down[s]), -up[s], s))
    return [(s, up[s], down[s]) for s in ranked]


def test_charts_match_a_brute_force_aggregate(app):
    rows, plays_rows = _seed(app, random.Random(7))
    client = app.test_client()
    for period, days in (("week", 7), ("month", 30), ("all", None)):
        since = NOW - timedelta(days=days) if days else None
        chart = client.get("/api/charts/top-rated",
                           query_string={"period": period, "limit": 100}).get_json()
        got = [(e["song_id"], e["up"], e["down"]) for e in chart["songs"]]
        expected = _expected_top(rows, since)
        # A vote cast in the second the request ran may fall either side of the edge.
        assert got == expected[: len(got)] and len(got) >= len(expected) - 1
        assert [e["rank"] for e in chart["songs"]] == list(range(1, len(got) + 1))

        played = client.get("/api/charts/most-played",
                            query_string={"period": period, "limit": 100}).get_json()
        counted = Counter(s for s, at in plays_rows if since is None or at >= since)
        last = {}
        for s, at in plays_rows:
            if since is None or at >= since:
                last[s] = max(last.get(s, at), at)
        ranked = sorted(counted, key=lambda s: (-counted[s], -last[s].timestamp(), s))
        assert [(e["song_id"], e["plays"]) for e in played["songs"]] == [(s, counted[s]) for s in ranked]


def test_likes_are_the_voters_thumbs_up_newest_first_and_removable(live_server, listener):
    alice, bob = listener("alice"), listener("bob")
    tracks = [song("Band", f"Track {n}") for n in range(5)]
    for track in tracks:
        assert alice.vote(track, "up").status_code == 200
    alice.vote(tracks[1], "down")
    bob.vote(tracks[4], "up")
    likes = alice.http.get(f"{live_server.url}/api/likes", params={"limit": 2})
    assert likes.status_code == 200
    assert likes.headers["Cache-Control"] == "private, no-store"
    page = likes.json()
    assert [s["title"] for s in page["songs"]] == ["Track 4", "Track 3"]
    assert page["songs"][0]["up"] == 2  # counts are everyone's
    rest = alice.http.get(f"{live_server.url}/api/likes",
                          params={"cursor": page["next_cursor"]}).json()
    assert [s["title"] for s in rest["songs"]] == ["Track 2", "Track 0"]
    assert rest["next_cursor"] is None
    # Removing a like is retracting the vote.
    alice.retract(tracks[4])
    titles = [s["title"] for s in alice.http.get(f"{live_server.url}/api/likes").json()["songs"]]
    assert titles == ["Track 3", "Track 2", "Track 0"]
    bobs = bob.http.get(f"{live_server.url}/api/likes").json()["songs"]
    assert [s["title"] for s in bobs] == ["Track 4"]


def test_likes_need_a_listener_and_a_good_cursor(client):
    assert client.get("/api/likes").status_code == 400
    headers = {"X-Listener-Fingerprint": fingerprint("carol")}
    response = client.get("/api/likes", query_string={"cursor": "AAAA"}, headers=headers)
    assert response.status_code == 422


def test_bad_chart_queries_get_a_422(client):
    for query in ({"period": "year"}, {"limit": 0}, {"limit": 101}):
        assert client.get("/api/charts/top-rated", query_string=query).status_code == 422
