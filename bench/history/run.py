"""Query cost of the play history and charts at a year of plays (~130,000 rows).

    .venv/bin/python bench/history/run.py [--plays 130000] [--songs 3000] [--repeat 20]

Seeds a fresh database (PostgreSQL in a throwaway schema of TEST_POSTGRES_URL, and an SQLite
file) with a year of 4-minute plays over a catalogue of songs and some votes, then times
the queries the public API runs (through the Flask test client, so validation and JSON are
included): the first history page, a page 100 pages deep (keyset cursor), a search, a
week's range, the charts. Prints the median and the worst of --repeat runs, in ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from radiocalico import create_app  # noqa: E402
from radiocalico.config import Config  # noqa: E402
from radiocalico.db import upgrade  # noqa: E402
from radiocalico.db.schema import plays, songs, votes  # noqa: E402
from radiocalico.services import services  # noqa: E402
from radiocalico.songs import song_id  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def seed(app, n_plays: int, n_songs: int) -> None:
    rng = random.Random(1)
    now = datetime.now(timezone.utc)
    catalogue = [(f"Artist {i % (n_songs // 8)}", f"Title {i}") for i in range(n_songs)]
    ids = [song_id(a, t) for a, t in catalogue]
    with services(app).store.writing() as c:
        c.execute(insert(songs), [{"id": i, "artist": a, "title": t, "album": "Album",
                                   "first_seen": now} for i, (a, t) in zip(ids, catalogue)])
        rows = []
        for n in range(n_plays):
            k = rng.randrange(n_songs)
            at = now - timedelta(minutes=4 * (n_plays - n))
            rows.append({"play_key": f"bench:{n}", "song_id": ids[k], "started_at": at,
                         "artist": catalogue[k][0], "title": catalogue[k][1], "album": "Album",
                         "year": "2020"})
            if len(rows) == 5000:
                c.execute(insert(plays), rows)
                rows = []
        if rows:
            c.execute(insert(plays), rows)
        # As the recorder keeps it: search ranks songs by their newest play.
        c.execute(text("UPDATE songs SET last_played = "
                       "(SELECT max(started_at) FROM plays WHERE song_id = songs.id)"))
        c.execute(insert(votes), [
            {"song_id": ids[rng.randrange(n_songs)], "voter": f"f:{v}", "user_id": None,
             "value": rng.choice((1, -1)), "created_at": now - timedelta(days=rng.uniform(0, 60)),
             "updated_at": now - timedelta(days=rng.uniform(0, 60))}
            for v in range(20000)
        ], )


def timed(client, url: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    return statistics.median(times), max(times)


def deep_cursor(client, pages: int) -> str:
    cursor = ""
    for _ in range(pages):
        body = client.get(f"/api/history?limit=100{'&cursor=' + cursor if cursor else ''}").get_json()
        cursor = body["next_cursor"]
    return cursor


def run(url: str, label: str, args) -> None:
    app = create_app(Config(instance_path=Path(tempfile.mkdtemp()), database_url=url,
                            secret_key="bench-" + "0123456789abcdef" * 2,
                            station_mode="external", history_poll_seconds=0))
    upgrade(services(app).store.engine)
    started = time.perf_counter()
    seed(app, args.plays, args.songs)
    print(f"{label}: seeded {args.plays} plays in {time.perf_counter() - started:.1f} s")
    client = app.test_client()
    week = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()
    cases = {
        "history first page (30)": "/api/history",
        "history 100 pages deep": f"/api/history?cursor={deep_cursor(client, 100)}",
        "search 'artist 12'": "/api/history?q=artist%2012",
        "search, no match": "/api/history?q=zzzz",
        "range: last week": f"/api/history?since={quote(week)}",
        "now playing": "/api/now-playing",
        "top rated, week": "/api/charts/top-rated?period=week",
        "most played, all time": "/api/charts/most-played?period=all",
    }
    for name, path in cases.items():
        median, worst = timed(client, path, args.repeat)
        print(f"  {name:28s} median {median:7.1f} ms   worst {worst:7.1f} ms")
    services(app).close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plays", type=int, default=130_000)
    parser.add_argument("--songs", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)")
    schema = f"rc_bench_{uuid.uuid4().hex[:10]}"
    dsn = POSTGRES_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        sep = "&" if "?" in POSTGRES_URL else "?"
        run(f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}", "PostgreSQL", args)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    run(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3", "SQLite", args)


if __name__ == "__main__":
    main()
