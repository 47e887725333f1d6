"""`radiocalico db backup FILE` / `db restore FILE` round-trip a PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shutil import which

from sqlalchemy import text

from radiocalico.db import make_engine, upgrade
from tests.conftest import require


def _cli(*args: str, database_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url, INSTANCE_PATH=str(tmp_path / "instance"))
    return subprocess.run(
        [str(Path(sys.executable).with_name("radiocalico")), *args],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_backup_and_restore_round_trip(postgres_schema_url, tmp_path):
    require(which("pg_dump") is not None and which("pg_restore") is not None,
            "pg_dump/pg_restore are not installed")
    engine = make_engine(postgres_schema_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO songs (id, artist, title, album, first_seen) "
            "VALUES ('0123456789abcdef0123456789abcdef', 'Artist', 'Title', 'Album', now())"
        ))
    dump = tmp_path / "radiocalico.dump"
    result = _cli("db", "backup", str(dump), database_url=postgres_schema_url, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM songs"))
        conn.execute(text("DROP TABLE alembic_version"))

    result = _cli("db", "restore", str(dump), database_url=postgres_schema_url, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT artist FROM songs")).scalar_one() == "Artist"
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()


def test_backup_refuses_sqlite(tmp_path):
    result = _cli("db", "backup", str(tmp_path / "x.dump"),
                  database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr
