"""The `radiocalico` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

RADIOCALICO = str(Path(sys.executable).with_name("radiocalico"))


def test_db_upgrade_migrates_the_configured_database(database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [RADIOCALICO, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(database_url)
    assert {"songs", "users", "votes"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_help_lists_the_commands():
    result = subprocess.run([RADIOCALICO, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for command in ("serve", "station", "db"):
        assert command in result.stdout
