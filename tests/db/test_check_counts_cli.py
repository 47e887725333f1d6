"""`radiocalico db check-counts` as an operator runs it: reports drift, --repair mends it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from radiocalico.db import Store, upgrade
from radiocalico.db.schema import songs
from radiocalico.songs import song_id
from tests.conftest import station_played

RADIOCALICO = str(Path(sys.executable).with_name("radiocalico"))
SONG = dict(song_id=song_id("Shandi", "He's A Dream"), artist="Shandi", title="He's A Dream",
            album="")


def check(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    return subprocess.run([RADIOCALICO, "db", "check-counts", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_check_counts_reports_and_repairs(database_url, tmp_path):
    store = Store(database_url)
    upgrade(store.engine)
    station_played(store, tuple(SONG.values()))
    with store.voting() as voting:
        voting.cast(song_id=SONG["song_id"], voter="f:a", user_id=None, value=1)
    clean = check(database_url, tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert "counts exact" in clean.stdout

    with store.writing() as connection:
        connection.execute(songs.update().values(up=7))
    drifted = check(database_url, tmp_path)
    assert drifted.returncode == 1
    assert f"{SONG['song_id']}: kept up 7 down 0, votes say up 1 down 0" in drifted.stdout
    assert "--repair" in drifted.stderr

    repaired = check(database_url, tmp_path, "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "1 song(s) repaired" in repaired.stdout
    assert check(database_url, tmp_path).returncode == 0
    store.dispose()


def test_check_counts_on_an_unmigrated_database_says_what_to_do(tmp_path):
    result = check(f"sqlite:///{tmp_path / 'empty.sqlite3'}", tmp_path)
    assert result.returncode == 1
    assert "radiocalico db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
