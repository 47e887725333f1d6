"""Replicas must share one SECRET_KEY: outside the development server a missing key is a
refusal to start, in one line naming the setting, instead of a key generated per replica
(each replica would then refuse the sessions and listener tokens the others signed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.deploy.topology import BIN, free_port

SERVE = Path(__file__).resolve().parents[2] / "deploy" / "serve.py"


def _environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), RADIOCALICO_MIGRATE_ON_START="false",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **settings)
    return env


@pytest.mark.parametrize("mode", ["external", "upstream", "embedded"])
def test_the_app_server_refuses_to_start_without_a_secret_key(tmp_path, mode):
    env = _environment(tmp_path, STATION_MODE=mode, APP_BIND=f"127.0.0.1:{free_port()}")
    server = subprocess.Popen([sys.executable, str(SERVE)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it started: stop it and its workers
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        raise AssertionError("the app server started without a SECRET_KEY") from None
    result = subprocess.CompletedProcess(server.args, server.returncode, stdout, stderr)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("SECRET_KEY is not set") and "Traceback" not in result.stderr
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_the_app_factory_refuses_too_outside_the_dev_server(tmp_path):
    """Any other WSGI server (`gunicorn 'radiocalico:create_app()'`) in production mode."""
    result = subprocess.run([sys.executable, "-c", "from radiocalico import create_app; create_app()"],
                            env=_environment(tmp_path, STATION_MODE="external"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith(
        "SECRET_KEY is not set: set it to `openssl rand -hex 32`, the same on every replica "
        "(only the development server, STATION_MODE=embedded, generates its own)")
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_the_dev_server_still_generates_and_keeps_one(tmp_path):
    port = free_port()
    env = _environment(tmp_path, STATION_MODE="embedded")
    keys = []
    for _ in range(2):  # the second start reads the key the first one generated
        server = subprocess.Popen([str(BIN / "radiocalico"), "serve", "--no-station", "--port", str(port)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, server.stderr.read()
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, "the dev server did not come up"
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(10)
        keys.append((tmp_path / "instance" / "secret_key").read_text())
    assert keys[0] == keys[1] and len(keys[0]) == 64
