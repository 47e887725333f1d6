"""Growth mode of the API benchmark: does a read cost more as a song gathers votes?

Seeds one song per size with N votes (PostgreSQL: one INSERT ... SELECT generate_series,
triggers off for the bulk load and the counts then set from the votes' aggregate; SQLite:
executemany in one transaction), checks the kept counts against the votes, and measures
reads of that one song with wrk. Sizes are measured in rounds, interleaved, so a noisy
neighbour on the machine hits every size alike. Then it seeds 100,000 songs and measures
the chart (`/api/ratings/top`).
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from radiocalico.db import Store, counts  # noqa: E402
from radiocalico.songs import song_id  # noqa: E402


def _growth_song(size: int) -> dict:
    artist, title = "Growth", f"{size} votes"
    return {"id": song_id(artist, title), "artist": artist, "title": title}


def _set_counts(connection) -> None:
    """Counts from the aggregate, as `radiocalico db check-counts --repair` sets them."""
    counts.repair(connection)


def seed_votes(store: Store, song: dict, size: int) -> None:
    now = datetime.now(timezone.utc)
    with store.writing() as connection:
        connection.execute(
            text("INSERT INTO songs (id, artist, title, album, first_seen) "
                 "VALUES (:id, :artist, :title, '', :now)"),
            {**song, "now": now},
        )
        if connection.dialect.name == "postgresql":
            # Bulk load: row triggers (the counts, the foreign keys) off for this transaction.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(
                text("INSERT INTO votes (song_id, voter, value, created_at, updated_at) "
                     "SELECT :id, 'f:' || md5(g::text), CASE WHEN g % 3 = 0 THEN -1 ELSE 1 END, "
                     ":now, :now FROM generate_series(1, :n) AS g"),
                {"id": song["id"], "now": now, "n": size},
            )
            connection.execute(text("SET LOCAL session_replication_role = origin"))
        else:
            rows = [{"id": song["id"], "voter": f"f:{n:032x}", "value": -1 if n % 3 == 0 else 1,
                     "now": now} for n in range(1, size + 1)]
            connection.execute(
                text("INSERT INTO votes (song_id, voter, value, created_at, updated_at) "
                     "VALUES (:id, :voter, :value, :now, :now)"),
                rows,
            )
        _set_counts(connection)
    _analyze(store)


def seed_chart(store: Store, song_count: int) -> None:
    """`song_count` songs with 1-4 votes each, net scores spread out."""
    now = datetime.now(timezone.utc)
    with store.writing() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(
                text("INSERT INTO songs (id, artist, title, album, first_seen) "
                     "SELECT md5('chart' || g), 'Chart', 'Song ' || g, '', :now "
                     "FROM generate_series(1, :n) AS g"), {"now": now, "n": song_count})
            connection.execute(
                text("INSERT INTO votes (song_id, voter, value, created_at, updated_at) "
                     "SELECT md5('chart' || g), 'f:' || v, "
                     "CASE WHEN (g * 7 + v) % 5 = 0 THEN -1 ELSE 1 END, :now, :now "
                     "FROM generate_series(1, :n) AS g, generate_series(1, 1 + g % 4) AS v"),
                {"now": now, "n": song_count})
            connection.execute(text("SET LOCAL session_replication_role = origin"))
        else:
            rng = random.Random(1)
            connection.execute(
                text("INSERT INTO songs (id, artist, title, album, first_seen) "
                     "VALUES (:id, 'Chart', :title, '', :now)"),
                [{"id": f"chart{g}", "title": f"Song {g}", "now": now}
                 for g in range(song_count)])
            connection.execute(
                text("INSERT INTO votes (song_id, voter, value, created_at, updated_at) "
                     "VALUES (:id, :voter, :value, :now, :now)"),
                [{"id": f"chart{g}", "voter": f"f:{v}", "value": rng.choice((1, 1, 1, -1)),
                  "now": now} for g in range(song_count) for v in range(1 + g % 4)])
        _set_counts(connection)
    _analyze(store)


def _analyze(store: Store) -> None:
    with store.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def run(args, url: str, database_url: str, workdir: Path, run_wrk, write_lua_data) -> None:
    store = Store(database_url)
    sizes = [int(s) for s in args.growth.split(",")]
    data = {}
    for size in sizes:
        song = _growth_song(size)
        started = time.monotonic()
        seed_votes(store, song, size)
        data[size] = workdir / f"growth-{size}.lua"
        write_lua_data([song], data[size])
        print(f"seeded {size:>9,} votes on one song in {time.monotonic() - started:.1f} s")
    with store.reading() as connection:
        drift = counts.differences(connection)
    print(f"counts: {'exact' if not drift else f'{len(drift)} songs DIFFER'} after seeding")

    results: dict[int, list[dict]] = {size: [] for size in sizes}
    for _ in range(args.rounds):
        for size in sizes:
            results[size].append(run_wrk(url, "read.lua", data[size], args)[0])
    base = _best(results[sizes[0]])
    print(f"reads of one song ({args.connections} connections, {args.duration}s x {args.rounds} rounds, best round):")
    for size in sizes:
        best = _best(results[size])
        rounds = " ".join(f"{r['rps']:.0f}" for r in results[size])
        print(f"  {size:>9,} votes: {best['rps']:7.0f} req/s  p99 {best['p99_ms']:6.2f} ms  "
              f"({best['rps'] / base['rps']:.0%} of {sizes[0]:,} votes; rounds: {rounds} req/s)")

    started = time.monotonic()
    seed_chart(store, args.chart_songs)
    print(f"seeded {args.chart_songs:,} songs for the chart in {time.monotonic() - started:.1f} s")
    chart = run_wrk(f"{url}/api/ratings/top?limit=50", None, None, args)[0]
    print(f"chart /api/ratings/top?limit=50 with {args.chart_songs:,} songs: {chart['rps']:.0f} req/s  "
          f"p50 {chart['p50_ms']:.2f} ms  p99 {chart['p99_ms']:.2f} ms")
    store.dispose()


def _best(rounds: list[dict]) -> dict:
    return max(rounds, key=lambda r: r["rps"])
