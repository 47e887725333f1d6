"""History search at 300,000 songs: search latency with 8 concurrent searches, and /health.

    .venv/bin/python bench/song_search/run.py [--songs 300000] [--seconds 20] [--clients 8]

Issue 21: with 300,000 song rows, 8 concurrent searches pushed /health's p50 to 1.3 s (each
search scanned every song), and 600 look-alike rows made a search for `chorale` find none
of its 4 real plays. This seeds a catalogue of --songs played songs (one play each) plus
600 unplayed look-alike rows (what votes could add before: no play, so never matched) and
4 real plays of "Chorale", then runs the production topology tests/deploy uses (nginx +
deploy/serve.py, 2 workers x 2 threads, PostgreSQL; no station) and, for --seconds, has
--clients clients search /api/history?q= back to back (a mix of rare, common, short and
missing words) while a probe asks GET /health every 100 ms. Prints both latencies (p50,
p99), how many real `chorale` plays a search finds, and PostgreSQL's plan of the songs
look-up. Then times the same searches on SQLite (FTS5 trigram), in process, one at a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from radiocalico import create_app  # noqa: E402
from radiocalico.config import Config  # noqa: E402
from radiocalico.db import upgrade  # noqa: E402
from radiocalico.db.plays import search_words  # noqa: E402
from radiocalico.services import services  # noqa: E402
from radiocalico.songs import song_id  # noqa: E402
from tests.deploy.topology import Topology, drop_schema, schema_url  # noqa: E402

DEFAULT_DB = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
DEFAULT_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WORDS = ["love", "night", "blue", "river", "dream", "heart", "fire", "rain", "summer", "road",
         "light", "home", "city", "ocean", "gold", "moon", "storm", "dance", "wild", "song"]
SEARCHES = ["chorale", "love", "river dream", "artist 1234", "zzzz", "ni", "moon storm 77"]
LOOK_ALIKES = 600
REAL_CHORALES = 4


def catalogue(n_songs: int):
    """(id, artist, title, last played) of every song, plus the 4 real Chorale plays."""
    now = datetime.now(timezone.utc)
    for i in range(n_songs):
        artist = f"Artist {i % 40000}"
        title = f"{WORDS[i % 20].title()} {WORDS[(i // 20) % 20]} {i}"
        yield song_id(artist, title), artist, title, now - timedelta(minutes=4 * i)
    for i in range(REAL_CHORALES):
        artist, title = "Bach", f"Chorale BWV {140 + i}"
        yield song_id(artist, title), artist, title, now - timedelta(days=30 + i)


def seed(url: str, n_songs: int) -> None:
    engine = create_engine(url)
    rows = list(catalogue(n_songs))
    first_seen = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as c:
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            c.execute(text("INSERT INTO songs (id, artist, title, album, first_seen, last_played) "
                           "VALUES (:id, :a, :t, '', :f, :at)"),
                      [{"id": i, "a": a, "t": t, "f": first_seen, "at": at} for i, a, t, at in chunk])
            c.execute(text("INSERT INTO plays (play_key, song_id, started_at, artist, title) "
                           "VALUES (:k, :id, :at, :a, :t)"),
                      [{"k": f"bench:{i}", "id": i, "a": a, "t": t, "at": at}
                       for i, a, t, at in chunk])
        # Look-alikes as votes once made them: a row, no play.
        c.execute(text("INSERT INTO songs (id, artist, title, album, first_seen) "
                       "VALUES (:id, :a, :t, '', :f)"),
                  [{"id": song_id("Bach", f"Chorale {n}"), "a": "Bach", "t": f"Chorale {n}",
                    "f": first_seen} for n in range(LOOK_ALIKES)])
        if engine.dialect.name == "postgresql":
            c.execute(text("ANALYZE songs"))
            c.execute(text("ANALYZE plays"))
    engine.dispose()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _ms(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"p50 {1000 * statistics.median(values):.1f} ms, "
            f"p99 {1000 * _percentile(values, 0.99):.1f} ms, n={len(values)}")


def load(topo: Topology, seconds: float, clients: int):
    stop = time.monotonic() + seconds
    searches: list[float] = []
    per_search: dict[str, list[float]] = {q: [] for q in SEARCHES}
    probes: list[float] = []
    failures = 0
    lock = threading.Lock()

    def searcher(index: int) -> None:
        nonlocal failures
        http = topo.session()
        n = index
        while time.monotonic() < stop:
            q = SEARCHES[n % len(SEARCHES)]
            n += 1
            started = time.monotonic()
            ok = http.get(f"{topo.url}/api/history", params={"q": q, "limit": 30},
                          timeout=60).status_code == 200
            with lock:
                searches.append(time.monotonic() - started)
                per_search[q].append(searches[-1])
                failures += not ok

    def probe() -> None:
        http = topo.session()
        while time.monotonic() < stop:
            started = time.monotonic()
            http.get(f"{topo.url}/health", timeout=60)
            probes.append(time.monotonic() - started)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))

    threads = [threading.Thread(target=searcher, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=probe))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return searches, probes, failures, per_search


def postgres(args) -> None:
    url, schema = schema_url(args.database_url)
    with tempfile.TemporaryDirectory(prefix="radiocalico-song-search-") as root:
        topo = Topology(Path(root), url, args.redis_url, replicas=1, workers=2, station=False,
                        app_env={"APP_THREADS": "2", "HISTORY_POLL_SECONDS": "0"})
        try:
            topo.start()  # the app server's master applies the migrations
            started = time.perf_counter()
            seed(url, args.songs)
            print(f"PostgreSQL: seeded {args.songs} played songs, {LOOK_ALIKES} unplayed "
                  f"look-alikes, {REAL_CHORALES} Chorale plays in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            http = topo.session()
            found = http.get(f"{topo.url}/api/history", params={"q": "chorale"}, timeout=60)
            real = [p for p in found.json()["plays"] if p["artist"] == "Bach"]
            print(f"  search 'chorale': {len(real)} of {REAL_CHORALES} real plays", flush=True)
            _explain(url)
            quiet = load(topo, 3, 0)[1]
            print(f"  quiet: /health {_ms(quiet)}", flush=True)
            searches, probes, failures, per_search = load(topo, args.seconds, args.clients)
            print(f"  {args.clients} concurrent searches for {args.seconds:.0f} s: "
                  f"search {_ms(searches)}, {failures} failed", flush=True)
            print(f"  /health during them: {_ms(probes)}  "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
            for q, times in per_search.items():
                print(f"    search {q!r:16s} {_ms(times)}")
        finally:
            topo.stop()
            drop_schema(args.database_url, schema)


def _explain(url: str) -> None:
    """PostgreSQL's plan of the songs look-up for a rare word (the pg_trgm index or not)."""
    from sqlalchemy.dialects import postgresql

    from radiocalico.db.plays import postgres_matching_songs

    query = postgres_matching_songs(search_words("chorale"), None)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    sql = sql.replace("%%", "%")  # the driver's escaping; this text is run without parameters
    engine = create_engine(url)
    with engine.connect() as c:
        plan = [row[0] for row in c.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql))]
    engine.dispose()
    print("  plan of the songs look-up ('chorale'):")
    for line in plan:
        print(f"    {line}")


def sqlite(args) -> None:
    folder = Path(tempfile.mkdtemp(prefix="radiocalico-song-search-"))
    url = f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(Config(instance_path=folder, database_url=url,
                            secret_key="bench-" + "0123456789abcdef" * 2,
                            station_mode="external", history_poll_seconds=0))
    upgrade(services(app).store.engine)
    started = time.perf_counter()
    seed(url, args.songs)
    print(f"SQLite: seeded in {time.perf_counter() - started:.0f} s", flush=True)
    client = app.test_client()
    real = [p for p in client.get("/api/history?q=chorale").get_json()["plays"]
            if p["artist"] == "Bach"]
    print(f"  search 'chorale': {len(real)} of {REAL_CHORALES} real plays")
    for q in SEARCHES:
        times = []
        for _ in range(args.repeat):
            begun = time.perf_counter()
            assert client.get("/api/history", query_string={"q": q}).status_code == 200
            times.append(time.perf_counter() - begun)
        print(f"  search {q!r:16s} {_ms(times)}")
    services(app).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=10, help="SQLite: runs of each search")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min)", flush=True)
    if not args.skip_postgres:
        postgres(args)
    if not args.skip_sqlite:
        sqlite(args)


if __name__ == "__main__":
    main()
