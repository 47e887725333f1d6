"""Settings from files (`NAME_FILE`), as Docker and Swarm hand secrets over: the app reads
the file, a bad one stops the app server with one line naming the setting, and the
database password joins DATABASE_URL so one secret serves PostgreSQL and the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from radiocalico.config import Config
from tests.deploy.topology import free_port

SERVE = Path(__file__).resolve().parents[1] / "deploy" / "serve.py"
KEY = "4f9c2b7e1a8d3c6f0b5e9a2d7c4f1e8b3a6d9c2f5e8b1a4d7c0f3e6b9a2d5c8f"


def test_a_setting_is_read_from_the_file_its_FILE_variable_names(tmp_path):
    (tmp_path / "secret_key").write_text(KEY + "\n")   # as `echo KEY | docker secret create`
    config = Config.from_env({"SECRET_KEY_FILE": str(tmp_path / "secret_key")})
    assert config.secret_key == KEY
    assert config.resolved_secret_key() == Config.from_env({"SECRET_KEY": KEY}).resolved_secret_key()


def test_the_database_password_file_completes_the_url(tmp_path):
    (tmp_path / "db_password").write_text("p@ss/word:with#signs\n")
    config = Config.from_env({"DATABASE_URL": "postgresql+psycopg://radiocalico@db:5432/radiocalico",
                              "DATABASE_PASSWORD_FILE": str(tmp_path / "db_password")})
    from sqlalchemy.engine import make_url

    url = make_url(config.resolved_database_url)
    assert (url.username, url.password, url.host, url.database) == (
        "radiocalico", "p@ss/word:with#signs", "db", "radiocalico")


@pytest.mark.parametrize("settings, message", [
    ({"DATABASE_PASSWORD": "x"},
     "DATABASE_PASSWORD is set but DATABASE_URL names no database server"),
    ({"DATABASE_PASSWORD": "x", "DATABASE_URL": "postgresql+psycopg://u:y@h/d"},
     "DATABASE_PASSWORD is set and DATABASE_URL carries a password too"),
])
def test_a_database_password_without_a_place_to_go_is_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        Config.from_env(settings)


def _serve(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECRET_KEY_FILE")}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), RADIOCALICO_MIGRATE_ON_START="false",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", STATION_MODE="external",
               APP_BIND=f"127.0.0.1:{free_port()}", **settings)
    return subprocess.run([sys.executable, str(SERVE)], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("case", ["missing", "both"])
def test_a_bad_secret_file_stops_the_app_server_with_one_line_naming_it(tmp_path, case):
    settings = {"SECRET_KEY_FILE": str(tmp_path / "no-such-secret")}
    if case == "both":
        (tmp_path / "secret_key").write_text(KEY)
        settings = {"SECRET_KEY_FILE": str(tmp_path / "secret_key"), "SECRET_KEY": KEY}
    result = _serve(tmp_path, **settings)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    expected = {"missing": f"SECRET_KEY_FILE names {tmp_path / 'no-such-secret'}, which cannot "
                           "be read (No such file or directory)",
                "both": "SECRET_KEY and SECRET_KEY_FILE are both set: keep one"}[case]
    assert result.stderr.strip() == expected
