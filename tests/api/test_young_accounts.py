"""New accounts earn their votes' weight as anonymous listeners do.

Finding 1 (hardening, second round): signed-in voters skipped the listener-token quota and
its minimum age, and sign-up allowed 10 a minute per address: one address made 30 accounts
in 152 s and all 30 votes counted (~600 an hour)."""

from __future__ import annotations

import requests

from tests.api.conftest import play, song
from tests.api.test_users import Account


def _young_account_app(make_app, make_live_server, *played: dict, **overrides):
    """The server's URL; the station has played `played`."""
    settings = dict(account_trust_seconds=86400.0, ratelimit_signups="100/hour",
                    ratelimit_auth="1000/minute")
    settings.update(overrides)
    app = make_app(**settings)
    play(app, *played)
    return make_live_server(app).url


def test_new_accounts_sharing_one_token_count_one_vote(make_app, make_live_server):
    track = song("Stuffed", "Ballot")
    url = _young_account_app(make_app, make_live_server, track)
    device = requests.Session()
    assert device.get(f"{url}/api/listener").status_code == 200  # one listener token
    statuses = []
    for n in range(6):
        account = Account(url)
        account.http.cookies.update(device.cookies)  # the same device, a new account each time
        assert account.register(f"stuffer{n}", f"stuffer{n}@example.com").status_code == 201
        statuses.append(account.vote(track, "up").status_code)
    assert statuses == [200] + [403] * 5
    assert requests.get(f"{url}/api/ratings/{track['id']}").json()["up"] == 1


def test_a_new_account_without_a_token_cannot_vote_but_its_own_token_counts(make_app, make_live_server):
    track = song("Fresh", "Account")
    url = _young_account_app(make_app, make_live_server, track)
    account = Account(url)
    account.register("newbie", "newbie@example.com")
    refused = account.vote(track, "up")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "listener_token_required"
    assert account.http.get(f"{url}/api/listener").status_code == 200
    counted = account.vote(track, "up")
    assert counted.status_code == 200 and counted.json()["up"] == 1
    # The same account on a second device (a token of its own) still votes as the account.
    laptop = Account(url)
    assert laptop.sign_in("newbie").status_code == 200
    assert laptop.http.get(f"{url}/api/listener").status_code == 200
    changed = laptop.vote(track, "down")
    assert changed.status_code == 200
    assert (changed.json()["up"], changed.json()["down"]) == (0, 1)


def test_an_account_older_than_the_trust_age_votes_without_a_token(make_app, make_live_server):
    track = song("Old", "Friend")
    url = _young_account_app(make_app, make_live_server, track, account_trust_seconds=0.0)
    account = Account(url)
    account.register("oldtimer", "oldtimer@example.com")
    assert account.vote(track, "up").status_code == 200


def test_sign_ups_per_address_are_limited_per_hour(make_app, make_live_server):
    url = _young_account_app(make_app, make_live_server, ratelimit_signups="3/hour")
    statuses = [Account(url).register(f"user{n}", f"user{n}@example.com").status_code
                for n in range(4)]
    assert statuses == [201, 201, 201, 429]
