"""What a hot standby costs: CPU of a single station, an active one and its standby, side by
side in one run.

    .venv/bin/python bench/standby/run.py [--seconds 60] [--rounds 2] [--segment 2]

Three `radiocalico station` processes play one demo library in real time (epoch-locked
stations cannot run faster than the clock) with the default renditions and Low-Latency
parts: a single station (no STATION_NODE_ID), and two stations of one group sharing a fresh
PostgreSQL schema (TEST_POSTGRES_URL, as the tests), the first of which leads. Once all
three publish, each process's CPU (user + system, /proc/<pid>/stat) is read at the start
and the end of a `--seconds` window. Reported per round: CPU seconds per hour of programme
for each, the active's and the standby's as a ratio of the single station's, the standby's
programme rebuilds (from its log), and the FLAC segments the two wrote alike. The rounds
start the stations afresh; on a shared machine the spread between rounds is the noise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy.engine import make_url

from radiocalico import stream_layout
from radiocalico.db import upgrade
from radiocalico.db.engine import make_engine

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def lossless_hashes(out: Path) -> dict[str, str]:
    hashes = {}
    for path in (out / stream_layout.HLS_DIR).glob("seg-*.m4s"):
        if path.stem.count("-") == 2:  # the lossless rendition's
            try:
                hashes[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                pass
    return hashes


def one_round(work: Path, url: str, seconds: float, segment: float) -> dict:
    radiocalico = str(Path(sys.executable).parent / "radiocalico")
    group = f"bench-{uuid.uuid4().hex[:8]}"
    roles = {"single": {}, "active": {"STATION_NODE_ID": "active"}, "standby": {"STATION_NODE_ID": "standby"}}
    processes, outs = {}, {}
    library = work / "demo-library"
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from radiocalico.station import ensure_demo_library; ensure_demo_library(Path(sys.argv[1]))",
                    str(library)], check=True)
    try:
        for name, extra in roles.items():
            outs[name] = work / f"out-{name}"
            env = dict(os.environ, INSTANCE_PATH=str(work / f"instance-{name}"), STATION_MODE="external",
                       STATION_LIVE_PORT="0", STATION_GROUP=group, **extra)
            if extra:
                env["DATABASE_URL"] = url
            processes[name] = subprocess.Popen(
                [radiocalico, "station", "--library", str(library), "--out", str(outs[name]),
                 "--segment-seconds", str(segment)],
                env=env, stderr=open(work / f"{name}.log", "wb"))
            if name == "active":
                time.sleep(3 * segment)  # (it leads)
        deadline = time.time() + 120
        while not all((outs[n] / stream_layout.HLS_DIR / stream_layout.MASTER_NAME).exists() for n in roles):
            if time.time() > deadline:
                raise SystemExit("the stations did not start: see " + str(work))
            time.sleep(0.2)
        time.sleep(2 * segment)
        before = {name: cpu_seconds(p.pid) for name, p in processes.items()}
        hashes = {"active": {}, "standby": {}}
        end = time.time() + seconds
        while time.time() < end:
            for name in hashes:
                hashes[name].update(lossless_hashes(outs[name]))
            time.sleep(segment)
        after = {name: cpu_seconds(p.pid) for name, p in processes.items()}
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            process.wait(30)
    per_hour = {name: (after[name] - before[name]) * 3600 / seconds for name in roles}
    both = set(hashes["active"]) & set(hashes["standby"])
    alike = sum(hashes["active"][name] == hashes["standby"][name] for name in both)
    rebuilds = (work / "standby.log").read_text(errors="replace").count("programme rebuilt")
    return {"per_hour": per_hour, "both": len(both), "alike": alike, "rebuilds": rebuilds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--segment", type=float, default=2)
    args = parser.parse_args()
    dsn = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    print(f"{os.cpu_count()} CPUs; {args.seconds:.0f} s windows, {args.segment:g} s segments, real time")
    print(f"{'round':>5} {'single':>10} {'active':>10} {'standby':>10} {'act/sgl':>8} {'stb/sgl':>8} "
          f"{'rebuilds':>8} {'FLAC alike':>11}   (CPU s per hour of programme)")
    for round_ in range(1, args.rounds + 1):
        schema = f"rc_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options={quote(f'-csearch_path={schema}')}"
        try:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            with tempfile.TemporaryDirectory(prefix="standby-bench-") as work:
                result = one_round(Path(work), url, args.seconds, args.segment)
        finally:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        cpu = result["per_hour"]
        print(f"{round_:>5} {cpu['single']:>10.0f} {cpu['active']:>10.0f} {cpu['standby']:>10.0f} "
              f"{cpu['active'] / cpu['single']:>8.2f} {cpu['standby'] / cpu['single']:>8.2f} "
              f"{result['rebuilds']:>8} {result['alike']:>5}/{result['both']:<5}", flush=True)


if __name__ == "__main__":
    main()
