"""Origin offload through the CDN-shaped edge: how much of what listeners fetch reaches the origin?

    .venv/bin/python bench/edge/run.py [--listeners 3000] [--seconds 60] [--rendition saver]
        [--processes 2] [--ramp 10]

Starts the origin as bench/listeners does (the station and the production nginx, natively
on loopback) and the edge (deploy/edge, rendered by deploy/edge/render.sh) in front of it,
then runs --listeners simulated players against the edge for --seconds. A listener is
bench/listeners' hls.js-like client: the media playlist every target duration, the init
file once, every new segment once. Then, side by side for the same run: what the listeners
fetched (requests, bytes: the edge's answers) and what the origin served for /stream (its
access log), and the origin's share of each. The issue's target: <= 1 % of both.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from radiocalico import stream_layout  # noqa: E402
from tests.deploy.edge_cdn import Edge, origin_log_offset, origin_stream_requests  # noqa: E402
from tests.deploy.topology import Topology  # noqa: E402

# The listener client of bench/listeners (one definition of what a player fetches).
_spec = importlib.util.spec_from_file_location("bench_listeners", ROOT / "bench/listeners/run.py")
listeners = importlib.util.module_from_spec(_spec)
sys.modules["bench_listeners"] = listeners  # multiprocessing pickles its functions by module
_spec.loader.exec_module(listeners)


def edge_log(edge: Edge, offset: int) -> list[dict]:
    with open(edge.access_log, "rb") as log:
        log.seek(offset)
        return [json.loads(line) for line in log.read().decode(errors="replace").splitlines()
                if line.strip()]


def run(topology: Topology, edge: Edge, playlist: str, args) -> dict:
    base = f"{edge.url}/stream/{stream_layout.HLS_DIR}/"
    shares = [args.listeners // args.processes + (1 if n < args.listeners % args.processes else 0)
              for n in range(args.processes)]
    origin_offset = origin_log_offset(topology)
    edge_offset = edge.access_log.stat().st_size if edge.access_log.exists() else 0
    busy0, total0 = listeners._machine_busy()
    edge_cpu0 = listeners._tree_cpu(edge.proc.popen.pid)
    origin_cpu0 = listeners._tree_cpu(topology.nginx_proc.popen.pid)
    started = time.monotonic()
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        results = pool.map(listeners._worker,
                           [(base, playlist, share, args.seconds, str(topology.cert), args.ramp)
                            for share in shares if share])
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # the last log lines
    busy1, total1 = listeners._machine_busy()
    merged = {key: sum(r[key] for r in results) for key in results[0]}
    merged["lag"] = max(r["lag"] for r in results)
    origin = origin_stream_requests(topology, origin_offset)
    at_edge = edge_log(edge, edge_offset)
    merged.update(
        elapsed=elapsed,
        origin_requests=len(origin),
        origin_bytes=sum(int(e.get("bytes", 0)) for e in origin),
        edge_requests=len(at_edge),
        edge_bytes=sum(int(e.get("bytes", 0)) for e in at_edge),
        edge_cache={status: sum(e["cache"] == status for e in at_edge)
                    for status in sorted({e["cache"] for e in at_edge})},
        edge_errors=sum(e["status"] != 200 for e in at_edge),
        machine_cpu=(busy1 - busy0) / (total1 - total0) * os.cpu_count(),
        edge_cpu=(listeners._tree_cpu(edge.proc.popen.pid) - edge_cpu0) / elapsed,
        origin_cpu=(listeners._tree_cpu(topology.nginx_proc.popen.pid) - origin_cpu0) / elapsed,
        client_cpu=merged["cpu"] / elapsed,
    )
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listeners", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rendition", default="saver",
                        help="media playlist live_<RENDITION>.m3u8 (saver, high, flac)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="seconds over which the listeners arrive")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    playlist = stream_layout.media_playlist_name(args.rendition)

    root = Path(tempfile.mkdtemp(prefix="rc-edge-bench-"))
    topology = Topology(root / "origin", database_url="", replicas=0,
                        nginx_values={"NGINX_APP_SERVERS": "server 127.0.0.1:9;"})
    edge = Edge(root / "edge", topology)
    try:
        topology.start()
        edge.start()
        print(f"machine: {os.cpu_count()} cores (shared), load {os.getloadavg()[0]:.1f}; "
              f"{args.listeners} listeners on {playlist} through the edge for "
              f"{args.seconds:.0f} s (arriving over {args.ramp:.0f} s), "
              f"{args.processes} client processes")
        for number in range(1, args.runs + 1):
            r = run(topology, edge, playlist, args)
            share_requests = r["origin_requests"] / max(r["requests"], 1)
            share_bytes = r["origin_bytes"] / max(r["bytes"], 1)
            print(f"run {number}: listeners fetched {r['requests']:,} requests, "
                  f"{r['bytes'] / 1e6:,.1f} MB ({r['segments']:,} segments; client errors and "
                  f"timeouts {r['errors']}, stalls {r['stalls']}); edge answered {r['edge_requests']:,} "
                  f"({', '.join(f'{k or chr(45)} {v:,}' for k, v in r['edge_cache'].items())}; "
                  f"{r['edge_errors']} not 200)")
            print(f"       origin served {r['origin_requests']:,} requests, "
                  f"{r['origin_bytes'] / 1e6:,.2f} MB: {share_requests:.3%} of the requests, "
                  f"{share_bytes:.3%} of the bytes (target <= 1 %)")
            print(f"       CPU: machine {r['machine_cpu']:.2f} cores, edge nginx "
                  f"{r['edge_cpu']:.2f}, origin nginx {r['origin_cpu']:.2f}, clients "
                  f"{r['client_cpu']:.2f}; client loop late by up to {r['lag']:.2f} s")
    finally:
        edge.stop()
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
