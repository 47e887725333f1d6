"""The real stack for the browser tests and the player benchmark.

`make_library` writes short FLAC tracks, each one steady sine tone of its own pitch, tagged
with mutagen, so that a test can tell from the audio alone which track it hears.
`Server` runs `radiocalico serve` as a subprocess on a free port with its own instance
folder, and can be stopped and started again on the same port and instance.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[2]
RADIOCALICO = Path(sys.executable).with_name("radiocalico")


@dataclass(frozen=True)
class Tone:
    artist: str
    title: str
    album: str
    year: str
    frequency: float


TONES = (
    Tone("Calico Test Band", "Low Hum", "Test Tones", "2019", 330.0),
    Tone("Calico  Ünïcode", "Middle Whistle", "Test Tones", "2021", 660.0),
    Tone("The Sine Waves", "High Chirp", "More Tones", "2024", 1320.0),
)


def make_library(folder: Path, seconds: float = 15.0, tones=TONES, rate: int = 44100) -> Path:
    """FLAC files (16-bit stereo at `rate`), one steady tone each, with tags."""
    import av
    from mutagen.flac import FLAC

    folder.mkdir(parents=True, exist_ok=True)
    for index, tone in enumerate(tones):
        path = folder / f"{index + 1:02d} {tone.title}.flac"
        if path.exists():
            continue
        n = int(seconds * rate)
        t = np.arange(n) / rate
        wave = 0.5 * np.sin(2 * np.pi * tone.frequency * t)
        fade = min(n // 2, int(0.01 * rate))  # 10 ms fades: no clicks at the joins
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
        pcm = (wave * 32767).astype(np.int16)
        stereo = np.ascontiguousarray(np.stack([pcm, pcm]).T.reshape(1, -1))
        with av.open(str(path), "w", format="flac") as container:
            stream = container.add_stream("flac", rate=rate, layout="stereo")
            stream.format = "s16"
            frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        tags = FLAC(str(path))
        tags["artist"] = tone.artist
        tags["title"] = tone.title
        tags["album"] = tone.album
        tags["date"] = tone.year
        tags.save()
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`radiocalico serve` in a subprocess; `stop()` and `start()` keep port and instance."""

    def __init__(self, instance: Path, library: Path, *, port: int | None = None,
                 segment_seconds: float = 1.0, extra_env: dict[str, str] | None = None):
        self.instance = instance
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = instance / "server.log"
        self.env = {
            **os.environ,
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'radiocalico.sqlite3'}",
            "SECRET_KEY": "test-secret-key-for-the-browser-tests",
            "STATION_LIBRARY": str(library),
            "STATION_SEGMENT_SECONDS": str(segment_seconds),
            "RATELIMIT_ENABLED": "false",
            "LISTENER_TOKEN_MIN_AGE": "0",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.instance.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(RADIOCALICO), "serve"], env=self.env, cwd=str(ROOT),
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"radiocalico serve exited: {self.log_path.read_text()[-3000:]}")
            try:
                if (requests.get(f"{self.url}/health", timeout=1).ok
                        and requests.get(f"{self.url}/stream/hls/live.m3u8", timeout=1).ok
                        and requests.get(f"{self.url}/stream/metadatav2.json", timeout=1).ok):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"radiocalico serve did not come up: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
