"""deploy/serve.py refuses a bad setting with one clear line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SERVE = Path(__file__).resolve().parents[2] / "deploy" / "serve.py"


@pytest.mark.parametrize("name, value", [
    ("APP_BIND", "no-port-here"),
    ("WEB_CONCURRENCY", "many"),
    ("APP_THREADS", "0"),
    ("APP_WORKER_LIFETIME", "5"),
])
def test_a_bad_setting_is_one_clear_line(name, value, tmp_path):
    env = {**os.environ, name: value, "INSTANCE_PATH": str(tmp_path),
           "RADIOCALICO_MIGRATE_ON_START": "false"}
    result = subprocess.run([sys.executable, str(SERVE)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert name in result.stderr
    assert "Traceback" not in result.stderr
