"""Voting as listeners do, over a real socket, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import select

from radiocalico.db.schema import songs, votes
from radiocalico.services import services
from tests.api.conftest import Listener, fingerprint, play, song


def test_a_new_song_has_no_votes(listener):
    assert listener().rating(song()) == {
        "song_id": song()["id"], "up": 0, "down": 0, "my_vote": None
    }


def test_vote_change_and_retract(listener):
    me, track = listener(), song()
    assert me.vote(track, "up").json() == {
        "song_id": track["id"], "up": 1, "down": 0, "my_vote": "up"
    }
    changed = me.vote(track, "down").json()
    assert (changed["up"], changed["down"], changed["my_vote"]) == (0, 1, "down")
    retracted = me.retract(track).json()
    assert (retracted["up"], retracted["down"], retracted["my_vote"]) == (0, 0, None)


def test_voting_twice_the_same_way_counts_once(listener):
    me, track = listener(), song()
    me.vote(track, "up")
    again = me.vote(track, "up")
    assert again.status_code == 200
    assert (again.json()["up"], again.json()["down"]) == (1, 0)


def test_retracting_without_a_vote_is_harmless(listener):
    response = listener().retract(song())
    assert response.status_code == 200
    assert response.json()["up"] == 0


def test_each_listener_sees_only_their_own_vote(listener):
    alice, bob, track = listener("alice"), listener("bob"), song()
    alice.vote(track, "up")
    bob.vote(track, "down")
    assert alice.rating(track)["my_vote"] == "up"
    assert bob.rating(track)["my_vote"] == "down"
    assert listener("carol").rating(track) == {
        "song_id": track["id"], "up": 1, "down": 1, "my_vote": None
    }


def test_batch_read_returns_every_song_in_the_order_asked(listener):
    me = listener()
    tracks = [song("Artist", f"Song {n}") for n in range(20)]
    for track in tracks[::2]:
        me.vote(track, "up")
    ids = ",".join(t["id"] for t in tracks)
    response = me.http.get(f"{me.base_url}/api/ratings", params={"ids": ids})
    assert response.status_code == 200
    ratings = response.json()["ratings"]
    assert [r["song_id"] for r in ratings] == [t["id"] for t in tracks]
    assert [r["up"] for r in ratings] == [1, 0] * 10
    assert [r["my_vote"] for r in ratings] == ["up", None] * 10


def test_batch_of_more_than_20_is_refused(listener):
    me = listener()
    ids = ",".join(song("A", str(n))["id"] for n in range(21))
    response = me.http.get(f"{me.base_url}/api/ratings", params={"ids": ids})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "ids"


def test_the_song_id_must_match_artist_and_title(listener):
    me = listener()
    forged = dict(song(), id=song("Someone", "Else")["id"])
    response = me.vote(forged, "up")
    assert response.status_code == 422
    assert me.rating(forged)["up"] == 0


def test_a_vote_needs_a_listener(live_server):
    track = song()
    body = {"value": "up", "artist": track["artist"], "title": track["title"]}
    response = requests.put(f"{live_server.url}/api/ratings/{track['id']}/vote", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "listener_required"


def test_a_malformed_fingerprint_is_refused(live_server):
    track = song()
    body = {"value": "up", "artist": track["artist"], "title": track["title"]}
    response = requests.put(
        f"{live_server.url}/api/ratings/{track['id']}/vote",
        json=body,
        headers={"X-Listener-Fingerprint": "not-hex; DROP TABLE votes"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "X-Listener-Fingerprint"


def test_fifty_listeners_voting_at_once_give_exactly_fifty(live_server):
    track = song()
    listeners = [Listener(live_server.url, f"listener-{n}", live_server.app) for n in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda l: l.vote(track, "up").status_code, listeners))
    assert statuses == [200] * 50
    assert listeners[0].rating(track)["up"] == 50


def test_fifty_votes_at_once_from_one_listener_count_once(live_server):
    track = song()
    # One browser: the same fingerprint and the same listener token cookie.
    same = [Listener(live_server.url, "the-same-listener", live_server.app) for _ in range(50)]
    for other in same[1:]:
        other.http.cookies = same[0].http.cookies
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda l: l.vote(track, "up").status_code, same))
    assert statuses == [200] * 50
    assert same[0].rating(track) == {"song_id": track["id"], "up": 1, "down": 0, "my_vote": "up"}


def test_no_raw_fingerprint_is_stored(app, listener):
    listener("alice").vote(song(), "up")
    with services(app).store.reading() as connection:
        stored = connection.execute(select(votes.c.voter)).scalars().all()
    assert len(stored) == 1
    alice = listener("alice")
    token = alice.http.cookies["radiocalico_listener"]
    assert fingerprint("alice") not in stored[0] and token.split(".")[0] not in stored[0]
    assert stored[0].startswith("t:")  # a keyed digest of the listener token's id


def test_the_chart_ranks_by_net_thumbs_up(listener):
    hit, miss, meh = song("A", "Hit"), song("B", "Miss"), song("C", "Meh")
    for n in range(3):
        listener(f"l{n}").vote(hit, "up")
    listener("l0").vote(meh, "up")
    listener("l1").vote(meh, "down")
    listener("l2").vote(miss, "down")
    me = listener("l0")
    chart = me.http.get(f"{me.base_url}/api/ratings/top", params={"limit": 5}).json()["songs"]
    assert [(e["title"], e["up"], e["down"]) for e in chart] == [("Hit", 3, 0), ("Meh", 1, 1)]


def test_bidi_controls_and_zero_width_characters_are_stripped(live_server):
    """Finding 10: right-to-left overrides and zero-width characters were accepted."""
    plain = song("Evil Artist", "Innocent Title")
    play(live_server.app, plain)
    sneaky = dict(plain, artist="Evil\u200b Artist\u202e", title="Inno\u2066cent Title\ufeff")
    assert sneaky["id"] == plain["id"]
    assert Listener(live_server.url, "eve").vote(sneaky, "up").status_code == 200
    chart = requests.get(f"{live_server.url}/api/ratings/top").json()["songs"]
    assert (chart[0]["artist"], chart[0]["title"]) == ("Evil Artist", "Innocent Title")


def test_a_song_with_a_huge_title_as_the_station_publishes_it_can_be_voted_on(listener):
    """A 4,994-character title with a newline: the station publishes it cut and folded by
    `radiocalico.songs.tag_text`, and that is what the page votes with."""
    from radiocalico.songs import tag_text

    track = song(tag_text("Long\nArtist"), tag_text("Long title\n" + "x" * 4994))
    assert listener().vote(track, "up").status_code == 200


def test_public_counts_are_the_same_for_everyone_and_cacheable(listener, live_server):
    """The track-change herd: every page asks the new song's counts at once. Those answers
    carry nobody's vote or cookie, so a shared cache can answer them all."""
    alice, track, other = listener("alice"), song(), song("Artist", "Another")
    alice.vote(track, "up")
    url = f"{live_server.url}/api/ratings/counts?ids={track['id']},{other['id']}"
    as_alice = alice.http.get(url)
    as_nobody = requests.get(url)
    assert as_alice.status_code == as_nobody.status_code == 200
    assert as_alice.json() == as_nobody.json() == {"counts": [
        {"song_id": track["id"], "up": 1, "down": 0}, {"song_id": other["id"], "up": 0, "down": 0}]}
    assert as_alice.headers["Cache-Control"] == "public, max-age=1, stale-while-revalidate=5"
    assert "Set-Cookie" not in as_alice.headers and "Vary" not in as_alice.headers
    bad = requests.get(f"{live_server.url}/api/ratings/counts?ids=nope")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_my_votes_are_mine_alone_and_never_stored(listener, live_server):
    alice, bob = listener("alice"), listener("bob")
    first, second = song("A", "One"), song("A", "Two")
    alice.vote(first, "up")
    alice.vote(second, "down")
    bob.vote(first, "down")
    mine = alice.http.get(f"{live_server.url}/api/ratings/mine")
    assert mine.status_code == 200
    assert mine.json() == {"votes": [{"song_id": second["id"], "value": "down"},
                                     {"song_id": first["id"], "value": "up"}]}
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert requests.get(f"{live_server.url}/api/ratings/mine").json() == {"votes": []}


def test_a_song_the_station_never_played_cannot_be_voted_on(app, live_server):
    """Issue 21, finding 4: a vote then a retraction left a row in the song catalogue."""
    invented = song("Look Alike", "chorale 17")
    me = Listener(live_server.url, "mallory")  # the station plays nothing
    refused = me.vote(invented, "up")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "song_not_played"
    assert me.retract(invented).status_code == 200
    with services(app).store.reading() as connection:
        assert connection.execute(select(songs.c.id)).all() == []


def test_the_charts_show_the_stations_spelling_not_the_voters(live_server):
    track = song("Shandi", "He's A Dream", "Flashdance")
    play(live_server.app, track)
    shouting = dict(track, artist="SHANDI", title="HE'S   A DREAM", album="typo")
    assert shouting["id"] == track["id"]
    assert Listener(live_server.url, "fan").vote(shouting, "up").status_code == 200
    chart = requests.get(f"{live_server.url}/api/ratings/top").json()["songs"]
    assert [(e["artist"], e["title"], e["album"]) for e in chart] == [
        ("Shandi", "He's A Dream", "Flashdance")
    ]
