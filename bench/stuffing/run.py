"""Ballot stuffing through the production edge: how many votes for ONE song does one client
address get counted, and can 50 real listeners behind one NAT address all vote?

    .venv/bin/python bench/stuffing/run.py [--seconds 30] [--listeners 50]

Starts the topology tests/deploy uses (nginx templates + deploy/serve.py +
PostgreSQL + Redis, on loopback) with the production limits of the code under test; only
nginx's vote zone is the .env.example one. Four scenarios, each from 127.0.0.1 (one
address):

- stuffer: for `--seconds`, every request is a "new listener" (a fresh fingerprint and a
  fresh cookie jar). It asks GET /api/listener for a token when the code has one (404 on
  older code: it just votes), collects what it can, waits out the listening age the
  server tells it, then votes with each. Prints the votes counted and the hourly rate they
  extrapolate to (tokens last a year, so what is collected in an hour is what an hour
  buys).
- stuffer with new accounts: the same, but each new browser signs up a new account and
  votes with it (with its own token while the address gets one, else sharing the last).
- NAT, listeners from earlier visits: `--listeners` browsers behind the same address that
  got their tokens on earlier visits (the address's hourly share at a time; a token lasts a
  year; their cookies are minted with the deployment's secret, as the page issued them
  then) each vote once for the same song, spread over `--vote-window` seconds.
- NAT, all new this hour: the same, but every browser loads the page for the first time
  in the same minute: only the address's hourly share of tokens is issued, so only that
  many can vote this hour (the others when the address has tokens again, or signed in).
  Prints how many were counted.

Run it on two checkouts (main and this branch) to compare; it prints the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from radiocalico.api.listener_token import COOKIE as TOKEN_COOKIE  # noqa: E402
from radiocalico.api.listener_token import new_token  # noqa: E402
from radiocalico.songs import song_id  # noqa: E402
from tests.deploy.topology import Topology, drop_schema, schema_url  # noqa: E402

DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _browser(topo: Topology) -> tuple[requests.Session, float]:
    """A new browser loading the page: its session and the seconds until it may vote."""
    http = topo.session()
    http.headers["X-Listener-Fingerprint"] = uuid.uuid4().hex * 2
    response = http.get(f"{topo.url}/api/listener", timeout=10)
    if response.status_code == 404:  # code without listener tokens
        return http, 0.0
    if response.status_code != 200:
        return http, -1.0  # refused a token
    return http, float(response.json()["votes_count_in_seconds"])


def _vote(http: requests.Session, topo: Topology, artist: str, title: str) -> int:
    return http.put(f"{topo.url}/api/ratings/{song_id(artist, title)}/vote",
                    json={"value": "up", "artist": artist, "title": title, "album": ""},
                    timeout=10).status_code


def _count(topo: Topology, artist: str, title: str) -> int:
    with topo.session() as http:
        return http.get(f"{topo.url}/api/ratings/{song_id(artist, title)}", timeout=10).json()["up"]


def stuffer(topo: Topology, seconds: float) -> dict:
    artist, title = "Stuffed", uuid.uuid4().hex[:8]
    deadline = time.monotonic() + seconds
    held, refused, wait = [], 0, 0.0
    statuses: dict[int, int] = {}
    while time.monotonic() < deadline:
        http, ready_in = _browser(topo)
        if ready_in < 0:
            refused += 1
            time.sleep(0.05)
            continue
        held.append(http)
        wait = max(wait, ready_in)
        if ready_in == 0:  # no listening age: vote at once, as the probe did
            status = _vote(http, topo, artist, title)
            statuses[status] = statuses.get(status, 0) + 1
            held.pop()
    time.sleep(wait + 0.5)
    for http in held:
        status = _vote(http, topo, artist, title)
        statuses[status] = statuses.get(status, 0) + 1
    counted = _count(topo, artist, title)
    # Unbounded (no token refused): the rate extrapolates. Bounded: the hourly token
    # limit was reached within the run, so the hour's count is what was counted.
    per_hour = counted if refused else round(counted * 3600 / seconds)
    return {"seconds": seconds, "tokens_refused": refused, "vote_statuses": statuses,
            "counted": counted, "per_hour": per_hour}


def _vote_at_a_human_pace(browsers, topo: Topology, artist: str, title: str,
                          window: float) -> dict[int, int]:
    """Each listener votes once, the votes spread over `window` seconds (people hearing a
    song they like), not fired in one burst."""
    statuses: dict[int, int] = {}
    for n, http in enumerate(browsers):
        time.sleep(window / max(len(browsers), 1))
        status = _vote(http, topo, artist, title)
        statuses[status] = statuses.get(status, 0) + 1
    return statuses


def account_stuffer(topo: Topology, seconds: float) -> dict:
    """The account route: for `seconds`, every request is a new browser that takes a
    listener token if the address still gets one, signs up a new account (sign-up signs
    it in) and votes with it; a browser refused a token votes with the last token it was
    given (new accounts sharing one device). Prints the votes counted."""
    artist, title = "Stuffed by accounts", uuid.uuid4().hex[:8]
    deadline = time.monotonic() + seconds
    held, signups, wait = [], {}, 0.0
    last_token = None
    while time.monotonic() < deadline:
        http, ready_in = _browser(topo)
        if ready_in < 0 and last_token is not None:
            http.cookies.set(TOKEN_COOKIE, last_token)
        elif ready_in >= 0:
            last_token = http.cookies.get(TOKEN_COOKIE)
            wait = max(wait, ready_in)
        name = "s" + uuid.uuid4().hex[:12]
        status = http.post(f"{topo.url}/api/users", timeout=10, json={
            "username": name, "email": f"{name}@example.com",
            "password": "a long and unusual passphrase"}).status_code
        signups[status] = signups.get(status, 0) + 1
        me = http.get(f"{topo.url}/api/users/me", timeout=10)
        if me.status_code == 200:
            http.headers["X-CSRF-Token"] = me.json()["csrf_token"]
            held.append(http)
        else:
            time.sleep(0.2)
    time.sleep(wait + 0.5)
    statuses: dict[int, int] = {}
    for http in held:
        status = _vote(http, topo, artist, title)
        statuses[status] = statuses.get(status, 0) + 1
    counted = _count(topo, artist, title)
    return {"seconds": seconds, "sign_ups": signups, "accounts": len(held),
            "vote_statuses": statuses, "counted": counted}


def nat_new(topo: Topology, listeners: int, window: float) -> dict:
    """`listeners` browsers behind one address, all loading the page for the first time in
    the same minute, then voting for the same song."""
    artist, title = "Office Radio", uuid.uuid4().hex[:8]
    browsers = [_browser(topo) for _ in range(listeners)]
    time.sleep(max([w for _, w in browsers] + [0]) + 0.5)
    statuses = _vote_at_a_human_pace([http for http, _ in browsers], topo, artist, title,
                                     window)
    return {"listeners": listeners, "tokens_refused": sum(1 for _, w in browsers if w < 0),
            "vote_statuses": statuses, "counted": _count(topo, artist, title)}


def nat_established(topo: Topology, listeners: int, window: float) -> dict:
    """`listeners` browsers behind one address that got their tokens on earlier visits (the
    address's hourly share at a time; a token lasts a year): their cookies are minted with
    the deployment's secret, as the page issued them then. All vote for the same song."""
    artist, title = "Office Radio", uuid.uuid4().hex[:8]
    browsers = []
    for _ in range(listeners):
        http = topo.session()
        http.headers["X-Listener-Fingerprint"] = uuid.uuid4().hex * 2
        _, value = new_token(topo.secret_key)
        http.cookies.set(TOKEN_COOKIE, value)
        browsers.append(http)
    # Minted now, they count after the listening age, as an earlier visit's token would.
    ready_in = browsers[0].get(f"{topo.url}/api/listener", timeout=10).json()
    time.sleep(ready_in["votes_count_in_seconds"] + 0.5)
    statuses = _vote_at_a_human_pace(browsers, topo, artist, title, window)
    return {"listeners": listeners, "vote_statuses": statuses,
            "counted": _count(topo, artist, title)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--listeners", type=int, default=50)
    parser.add_argument("--vote-window", type=float, default=30,
                        help="NAT: seconds over which the listeners cast their votes")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    # Each scenario gets its own topology: a fresh secret key, so fresh rate-limit keys.
    for name, run in (
        ("stuffer", lambda t: stuffer(t, args.seconds)),
        ("stuffer with new accounts", lambda t: account_stuffer(t, args.seconds)),
        ("NAT, listeners from earlier visits",
         lambda t: nat_established(t, args.listeners, args.vote_window)),
        ("NAT, all new this hour", lambda t: nat_new(t, args.listeners, args.vote_window)),
    ):
        url, schema = schema_url(args.database_url)
        with tempfile.TemporaryDirectory(prefix="rc-stuffing-") as root:
            topo = Topology(Path(root), url, args.redis_url, replicas=1, workers=2,
                            station=False,
                            nginx_values={"NGINX_VOTE_RATE": "10r/s", "NGINX_VOTE_BURST": "20"})
            try:
                topo.start()
                print(f"{name}: {run(topo)}  (load average {os.getloadavg()[0]:.2f})",
                      flush=True)
            finally:
                topo.stop()
                drop_schema(args.database_url, schema)


if __name__ == "__main__":
    main()
