"""The live input: a DJ goes live from their own software, as to an Icecast server.

DJ software (butt, Mixxx, ffmpeg's ``icecast://``, anything built on libshout) connects to
the station's live port (STATION_LIVE_PORT, default 8010) and streams to the mount ``/live``
with HTTP ``PUT`` (Icecast 2.4+, with ``Expect: 100-continue``) or the legacy ``SOURCE``
method, logging in with HTTP Basic auth as a DJ added with ``radiocalico dj add`` (the user
name is the DJ's name). The ``ice-name`` header names the show, ``ice-genre`` its genre.
Now-playing updates come as Icecast's ``GET /admin/metadata?mode=updinfo&mount=/live&song=
Artist%20-%20Title`` (butt, Mixxx), answered with Icecast's XML.

Answers: 401 with ``WWW-Authenticate`` for a wrong name or password, 409 "Mountpoint in use"
while another DJ is connected, 404 for another mount, 415 for a Content-Type that is not
audio the live input decodes. Accepted: FLAC (native and in Ogg), Ogg Vorbis and Opus, MP3,
AAC (ADTS), at 8 to 192 kHz, mono to 7.1 (folded to stereo as `audio` folds files). A body
that turns out to be something else (garbage, another codec, 384 kHz) is logged in one line
and the connection closed: the 200 went out before the first byte, as Icecast's does.

Playout never waits for the DJ: the connection's thread decodes the body with PyAV (a
file-like object over the socket; native FLAC is cut into frames here, `_NativeFlac`, as
FFmpeg's parser holds frames back), converts it to the stream's PCM with `audio`'s
functions (48 kHz stereo 24-bit; a 48 kHz/24-bit FLAC source bit for bit), and appends it to
the session's buffer; the programme's PCM pull (`programme.Programme`) only ever takes what
is there. The buffer holds what the playout loop takes at once (a Low-Latency HLS part, or
a segment, and the encoders' lookahead) plus LIVE_BUFFER_SECONDS of jitter margin before
the DJ goes on air; the loop takes a part when the clock reaches its end, so the live audio
airs the lookahead plus that margin later than it arrived (the live latency; the take-over
crossfade is mixed block by block as the DJ's audio comes, so it adds none). When the buffer runs dry the gap is filled with silence (10 ms fades either side)
and counted, until the buffer is that full again.

Take-over and hand-back (in the programme): the live audio replaces the rotation at the
next block of PCM with an equal-power crossfade of LIVE_CROSSFADE_SECONDS, and the
interrupted track is dropped. When the DJ disconnects, the audio still buffered is aired and
its last LIVE_CROSSFADE_SECONDS crossfade into a fresh track of the rotation; after
LIVE_NO_DATA_SECONDS without a byte the connection is closed (the same hand-back), and after
LIVE_SILENCE_SECONDS of digital silence (below -90 dBFS) the rotation takes over while the
DJ stays connected: sound from them again takes the air back.

Live audio is not loudness-levelled (the DJ's own level reaches every rendition).

Metadata: a live show is a "track" (a `library.Track` made up of the DJ's metadata) whose
start the programme reports like a file's, so it reaches metadatav2.json the same way, with
``"live": true`` and ``"dj"``. Each updinfo is a new start, placed at the live sample that
was arriving when it came, so the title changes when that audio airs. Without updinfo the
title is the ``ice-name``, else "LIVE: <dj>".

Recording (LIVE_RECORD): each set is written as it airs, the live input's PCM (48 kHz/24-bit,
unlevelled), to ``<instance>/recordings/<start>-<dj>.flac`` (``radiocalico dj recordings``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import socket
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import av
import numpy as np

from radiocalico.songs import tag_text

from .audio import FADE_SECONDS, STREAM_CHANNELS, STREAM_RATE, _resampled, fade, frame_to_pcm
from .epoch import crc8
from .library import LOSSY_BIT_DEPTH, Track

log = logging.getLogger("radiocalico.station")

MOUNT = "/live"
RECORDINGS_DIR = "recordings"  # under the instance folder
# Content-Type -> FFmpeg demuxer. Without a Content-Type FFmpeg probes the bytes.
CONTENT_TYPES = {
    "audio/ogg": "ogg", "application/ogg": "ogg", "audio/opus": "ogg", "audio/vorbis": "ogg",
    "audio/flac": "flac", "audio/x-flac": "flac",
    "audio/mpeg": "mp3", "audio/mp3": "mp3",
    "audio/aac": "aac", "audio/aacp": "aac", "audio/x-aac": "aac",
}
CODECS = {"flac", "vorbis", "opus", "mp3", "mp3float", "aac"}
MAX_RATE, MIN_RATE = 192000, 8000
MAX_CHANNELS = 8
SILENCE_PEAK = int(2 ** 31 * 10 ** (-90 / 20))  # -90 dBFS in the stream's left-aligned int32
_PROBE_OPTIONS = {"probesize": "8192", "analyzeduration": "200000"}  # a low bit rate would wait seconds for more
_OVERFLOW_SECONDS = 2.0  # audio arriving faster than it airs (clock drift) beyond the target is dropped


def dj_recording_name(start: datetime, dj: str) -> str:
    return f"{start.strftime('%Y%m%dT%H%M%SZ')}-{dj}.flac"


def show_track(dj: str, show: str = "", genre: str = "", song: str = "", rate: int = STREAM_RATE,
               bits: int = 16, channels: int = 2, codec: str = "") -> Track:
    """The live show as a track: "Artist - Title" from updinfo, else the show name (ice-name),
    else "LIVE: <dj>"; the DJ is the artist when the song names none."""
    artist, title = dj, song.strip() or show.strip() or f"LIVE: {dj}"
    if " - " in title and song.strip():
        artist, title = (part.strip() for part in title.split(" - ", 1))
    # What a DJ's software sends is untrusted text: cut and folded as library tags are.
    return Track(path=Path(f"live:{MOUNT}"), artist=tag_text(artist or dj), title=tag_text(title or f"LIVE: {dj}"),
                 album=tag_text(show),
                 date="", genre=tag_text(genre), bit_depth=bits, sample_rate=rate, channels=channels, duration=0.0,
                 codec=codec)


def crossfade(out: np.ndarray, into: np.ndarray, offset: int = 0, total: int | None = None) -> np.ndarray:
    """`out` fading out while `into` fades in, equal power (sin/cos: two unrelated sources
    keep their loudness through the fade), same length; or samples [offset, offset + len)
    of a fade `total` samples long (a take-over made block by block as the DJ's audio comes)."""
    n = len(out)
    if n == 0:
        return into
    total = total or n
    angle = (np.arange(offset, offset + n) + 0.5) / total * (np.pi / 2)
    mixed = out * np.cos(angle)[:, None] + into * np.sin(angle)[:, None]
    return (np.clip(np.rint(mixed / 256), -(1 << 23), (1 << 23) - 1).astype(np.int32) << 8)


class Session:
    """One DJ's connection: the PCM decoded from it, waiting for the programme."""

    def __init__(self, dj: str, show: str, genre: str, silence_samples: int):
        self.dj = dj
        self.show = show
        self.genre = genre
        self.started = datetime.now(timezone.utc)
        self.track = show_track(dj, show, genre)
        self._lock = threading.Lock()
        self._chunks: deque[np.ndarray] = deque()
        self.buffered = 0
        self.received = 0  # samples pushed so far
        self.taken = 0  # of the samples received, how many were aired or dropped
        self._events: deque[tuple[int, Track]] = deque()  # (received sample, new metadata)
        self.silence_samples = silence_samples
        self.silent_run = 0
        self.closed = False  # the connection ended: air what is buffered, then hand back
        self.on_air = False
        self.underrun_samples = 0
        self.underruns = 0
        self._starved = False
        self.refill = 0  # samples to have again after running dry (LiveInput.target)
        self.dropped_samples = 0
        self.audio_started = False
        self.connection: socket.socket | None = None

    @property
    def silent(self) -> bool:
        return self.silent_run >= self.silence_samples

    def push(self, pcm: np.ndarray, keep: int) -> None:
        """Append decoded audio; off air only the newest `keep` samples are kept (the air
        gets the DJ's present, not a backlog); on air a backlog beyond `keep` plus
        _OVERFLOW_SECONDS (the DJ's clock running fast) is dropped and counted."""
        peak = int(np.abs(pcm).max()) if len(pcm) else 0
        with self._lock:
            self.silent_run = self.silent_run + len(pcm) if peak < SILENCE_PEAK else 0
            self._chunks.append(pcm)
            self.buffered += len(pcm)
            self.received += len(pcm)
            self.audio_started = True
            limit = keep if not self.on_air else keep + int(_OVERFLOW_SECONDS * STREAM_RATE)
            if self.buffered > limit:
                drop = self.buffered - keep
                self._drop(drop)
                if self.on_air:
                    self.dropped_samples += drop

    def skip(self, n: int) -> None:
        """Drop the oldest `n` samples buffered (at most what is there), off air."""
        with self._lock:
            self._drop(max(0, min(n, self.buffered)))

    def _drop(self, n: int) -> None:
        self.buffered -= n
        self.taken += n
        while n:
            chunk = self._chunks[0]
            if len(chunk) <= n:
                self._chunks.popleft()
                n -= len(chunk)
            else:
                self._chunks[0] = chunk[n:]
                n = 0

    def metadata(self, song: str) -> None:
        """Now playing `song` from the audio arriving now on."""
        with self._lock:
            self.track = show_track(self.dj, self.show, self.genre, song, self.track.sample_rate,
                                    self.track.bit_depth, self.track.channels, self.track.codec)
            self._events.append((self.received, self.track))

    def read(self, n: int) -> tuple[np.ndarray, list[tuple[int, Track]]]:
        """`n` samples and the metadata changes within them: (offset in the block, track).
        Where the buffer runs dry the block is padded with silence (the audio before it
        fading out, counted), and silence follows until the buffer is as full as at the
        take-over (`refill`), so a stall is one gap, not one per pull; the audio then fades in."""
        out = np.zeros((n, STREAM_CHANNELS), dtype=np.int32)
        fade_samples = int(FADE_SECONDS * STREAM_RATE)
        with self._lock:
            first = self.taken
            filled = 0
            if not (self._starved and not self.closed and self.buffered < self.refill):
                while filled < n and self._chunks:
                    chunk = self._chunks[0]
                    k = min(len(chunk), n - filled)
                    out[filled:filled + k] = chunk[:k]
                    if k == len(chunk):
                        self._chunks.popleft()
                    else:
                        self._chunks[0] = chunk[k:]
                    filled += k
                self.buffered -= filled
            if filled and self._starved:
                out[:filled] = fade(out[:filled], fade_samples, out=False)
                self._starved = False
            if filled < n and not self.closed:
                if not self._starved:  # a new run dry (the network or the DJ's machine stalled)
                    self.underruns += 1
                    out[:filled] = fade(out[:filled], fade_samples, out=True)
                self._starved = True
                self.underrun_samples += n - filled
            self.taken += filled
            events = []
            while self._events and self._events[0][0] < self.taken:
                at, track = self._events.popleft()
                events.append((max(0, at - first), track))
        return out, events

    def close(self) -> None:
        """End the connection from the station's side (stop, stalled)."""
        self.closed = True
        connection = self.connection
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Body:
    """The request body as a file for PyAV: raw until the connection closes (Icecast's
    sources send no length), or HTTP/1.1 chunked."""

    def __init__(self, rfile, chunked: bool, length: int | None):
        self.rfile = rfile
        self.chunked = chunked
        self.left = length  # None: until EOF
        self.chunk_left = 0
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 65536
        if self.chunked:
            if self.chunk_left == 0:
                line = self.rfile.readline(1024)
                try:
                    self.chunk_left = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    return b""
                if self.chunk_left == 0:
                    return b""
            data = self.rfile.read1(min(size, self.chunk_left))
            self.chunk_left -= len(data)
            if self.chunk_left == 0:
                self.rfile.readline(8)  # the CRLF after the chunk
        else:
            if self.left is not None:
                size = min(size, self.left)
                if size == 0:
                    return b""
            data = self.rfile.read1(size)
            if self.left is not None:
                self.left -= len(data)
        self.bytes += len(data)
        return data


class LoginBusy(Exception):
    """`authenticate` is checking another login (Argon2, one at a time): answer 503."""


class BadSource(Exception):
    """The body is not audio the live input takes (logged in one line)."""


@dataclass(frozen=True)
class LiveSettings:
    host: str = "127.0.0.1"
    port: int = 8010  # 0: no live input
    crossfade_seconds: float = 2.0
    buffer_seconds: float = 0.25  # jitter margin beyond a part (see the module docstring)
    no_data_seconds: float = 10.0
    silence_seconds: float = 30.0
    record: bool = True


class LiveInput:
    """The live input's server and the one session that may be on air."""

    def __init__(self, settings: LiveSettings, authenticate: Callable[[str, str], str | None],
                 recordings: Path | None = None):
        """`authenticate(name, password)`: the DJ's name, or None (`db.djs.DjStore.check`);
        it may raise LoginBusy, or anything when it cannot check (both answered 503);
        `recordings`: where sets are recorded (None: not recorded)."""
        self.settings = settings
        self.authenticate = authenticate
        self.recordings = recordings if settings.record else None
        self.crossfade_samples = max(1, int(settings.crossfade_seconds * STREAM_RATE))
        self.target = self.crossfade_samples  # samples buffered before going on air; see start()
        self.session: Session | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the station's side ---------------------------------------------------------------

    def start(self, pull_samples: int) -> None:
        """Listen; `pull_samples`: the most the playout takes at once (a segment and the
        encoders' lookahead)."""
        self.target = pull_samples + int(self.settings.buffer_seconds * STREAM_RATE)
        if self._server is not None:
            return
        handler = type("Handler", (_Handler,), {"live": self})
        try:
            self._server = ThreadingHTTPServer((self.settings.host, self.settings.port), handler)
        except OSError as exc:
            log.error("live input: cannot listen on %s:%d (%s); the station runs without it",
                      self.settings.host, self.settings.port, exc)
            return
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="radiocalico-live", daemon=True)
        self._thread.start()
        log.info("live input: DJs connect to http://%s:%d%s", self.settings.host, self.port, MOUNT)

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server is not None else 0

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        session = self.session
        if session is not None:
            session.close()

    def ready(self) -> Session | None:
        """The session to put on air now, if there is one with enough audio."""
        session = self.session
        # (A DJ who already left is still aired when their audio is buffered: a short set.)
        if (session is not None and not session.on_air and not session.silent
                and session.buffered >= self.target):
            return session
        return None

    def disconnect(self) -> str | None:
        """Close the connected DJ's connection (an operator's order): what is buffered airs,
        then the rotation comes back. Their name, or None when no one is connected."""
        session = self.session
        if session is None:
            return None
        log.info("live: %s disconnected by an operator", session.dj)
        session.close()
        return session.dj

    # -- the connection's side ------------------------------------------------------------

    def detach(self) -> None:
        """A new programme (the station's start or restart) has no DJ on air: the connected
        DJ's session waits to be offered again, or is let go if they already left."""
        session = self.session
        if session is not None:
            session.on_air = False
            if session.closed:
                self.release(session)

    def claim(self, session: Session) -> bool:
        with self._lock:
            if self.session is not None:
                return False
            session.refill = self.target
            self.session = session
            return True

    def release(self, session: Session) -> None:
        with self._lock:
            if self.session is session:
                self.session = None

    def receive(self, session: Session, body: _Body, content_type: str) -> None:
        """Decode the body into the session until it ends; BadSource when it is not audio we take."""
        hint = CONTENT_TYPES.get(content_type)
        source = _NativeFlac(body) if hint == "flac" else _Demuxed(body, hint)
        recorder = None
        try:
            ctx = source.ctx
            codec, rate, channels = ctx.name, source.rate, source.channels
            if codec not in CODECS:
                raise BadSource(f"codec {codec} is not one it takes (FLAC, Vorbis, Opus, MP3, AAC)")
            if not MIN_RATE <= rate <= MAX_RATE:
                raise BadSource(f"{rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
            if not 1 <= channels <= MAX_CHANNELS:
                raise BadSource(f"{channels} channels (at most {MAX_CHANNELS})")
            # A lossy source has no depth of its own (as `library` says of files).
            lossless = codec == "flac"
            bits = source.bits if lossless else LOSSY_BIT_DEPTH
            session.track = replace(session.track, sample_rate=rate, bit_depth=bits, channels=channels, codec=codec)
            log.info("live: %s streams %s %d Hz %d ch%s", session.dj, codec, rate, channels,
                     f" {bits}-bit" if lossless else "")
            for pcm in _resampled(_frames(source.packets(), ctx, rate, channels)):
                if len(pcm):
                    session.push(pcm, self.target)
                    if recorder is None and self.recordings is not None:
                        recorder = _Recorder(self.recordings / dj_recording_name(session.started, session.dj))
                    if recorder is not None:
                        recorder.write(pcm)
        except BadSource:
            if recorder is not None:  # what was recorded of a source refused is not a set
                recorder.close(keep=False)
                recorder = None
            raise
        finally:
            source.close()
            if recorder is not None:
                recorder.close()


# Packets that fail to decode, or decode to another rate or channel count than the stream
# said, before a source is taken for garbage: a real encoder makes none. (Bytes that are not
# audio can still contain what looks like MP3 frame headers, which decode to noise.)
_ANOMALIES = 8


def _frames(packets, ctx, rate: int, channels: int):
    """(rate, PCM) of each decodable frame of `packets` (decoded by `ctx`, the source said
    `rate` and `channels`); a damaged packet is skipped (the buffer pads). BadSource when
    damage is most of what arrives."""
    good = anomalies = 0
    for packet in packets:
        try:
            frames = ctx.decode(packet)
        except av.FFmpegError:
            frames = None
        for frame in frames or ():
            if frame.sample_rate != rate or len(frame.layout.channels) != channels:
                frames = None
            elif frame.samples:
                good += 1
                yield frame.sample_rate, frame_to_pcm(frame)
        if frames is None:
            anomalies += 1
            if anomalies >= _ANOMALIES and anomalies > good // 2:
                raise BadSource(f"not audio it can decode ({anomalies} damaged packets, {good} good)")


class _Demuxed:
    """A source FFmpeg demuxes (Ogg, MP3, ADTS; probed without a Content-Type)."""

    def __init__(self, body: _Body, hint: str | None):
        try:
            self.container = av.open(body, format=hint, options=dict(_PROBE_OPTIONS), metadata_errors="ignore")
        except (av.FFmpegError, ValueError) as exc:
            raise BadSource(f"not audio it can decode ({exc.__class__.__name__}: {exc})") from None
        if not self.container.streams.audio:
            self.container.close()
            raise BadSource("no audio stream")
        self.stream = self.container.streams.audio[0]
        self.ctx = self.stream.codec_context
        self.rate, self.channels = int(self.ctx.sample_rate or 0), int(self.ctx.channels or 0)
        # FFmpeg's FLAC decoder gives s16 up to 16 bits, s32 above (24 in practice)
        self.bits = 24 if self.ctx.format is not None and self.ctx.format.name.startswith("s32") else 16

    def packets(self):
        return self.container.demux(self.stream)

    def close(self) -> None:
        self.container.close()


_FLAC_SYNC = re.compile(rb"\xff[\xf8\xf9]")
_FLAC_HEADER_MAX = 16  # bytes, the longest frame header
_FLAC_RESYNC_BYTES = 1 << 20  # a frame this long without the next one in sequence: take any valid header


class _NativeFlac:
    """Native FLAC (Content-Type audio/flac), cut into frames here, each handed to the decoder
    as soon as the next frame's header arrives. FFmpeg's FLAC demuxer would do it with its
    parser, which buffers ten frame headers to score candidates against each other (the
    live latency it added, measured: 7-8 frames, 0.16-0.18 s of 960-sample frames, 0.69 s of
    ffmpeg's default 4,608). A frame ends where a header follows whose CRC-8 is right and whose frame
    (or sample) number is the next one: a frame's own bytes are never taken for both."""

    def __init__(self, body: _Body):
        self.body = body
        self.buf = bytearray()
        self.eof = False
        if self._take(4) != b"fLaC":
            raise BadSource("not audio it can decode (native FLAC without its fLaC header)")
        streaminfo = None
        last = False
        while not last:
            block = self._take(4)
            if len(block) < 4:
                raise BadSource("not audio it can decode (the FLAC header ends early)")
            last, kind, length = bool(block[0] & 0x80), block[0] & 0x7F, int.from_bytes(block[1:4], "big")
            data = self._take(length)
            if len(data) < length or kind == 127:
                raise BadSource("not audio it can decode (a damaged FLAC header)")
            if kind == 0 and length >= 34:
                streaminfo = data[:34]
        if streaminfo is None:
            raise BadSource("not audio it can decode (no FLAC STREAMINFO)")
        self.max_frame = int.from_bytes(streaminfo[7:10], "big")
        info = int.from_bytes(streaminfo[10:18], "big")
        self.rate = info >> 44
        self.channels = ((info >> 41) & 0x7) + 1
        depth = ((info >> 36) & 0x1F) + 1
        self.bits = 24 if depth > 16 else 16
        self.ctx = av.CodecContext.create("flac", "r")
        self.ctx.extradata = bytes(streaminfo)

    def _fill(self) -> bool:
        data = self.body.read(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n and self._fill():
            pass
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _header(self, at: int) -> tuple[int, int, int] | None:
        """(blocking strategy bit, frame or sample number, block size) of a valid frame
        header at `at`, None when there is none, or () when more bytes are needed to tell."""
        buf = self.buf
        if len(buf) - at < 6:
            return () if not self.eof else None
        b2, b3 = buf[at + 2], buf[at + 3]
        size_code, rate_code = b2 >> 4, b2 & 0xF
        if size_code == 0 or rate_code == 15 or (b3 >> 4) > 10 or (b3 >> 1) & 7 == 3 or b3 & 1:
            return None
        i = at + 4
        first = buf[i]
        extra = next((n for n, (mask, value) in enumerate(
            ((0x80, 0), (0xE0, 0xC0), (0xF0, 0xE0), (0xF8, 0xF0), (0xFC, 0xF8), (0xFE, 0xFC), (0xFF, 0xFE)))
            if first & mask == value), None)
        if extra is None:
            return None
        number = first & ((1 << (6 - extra)) - 1) if extra else first
        length = (i + 1 + extra) + (1 if size_code == 6 else 2 if size_code == 7 else 0) \
            + (1 if rate_code == 12 else 2 if rate_code in (13, 14) else 0) - at
        if len(buf) - at < length + 1:
            return () if not self.eof else None
        for c in buf[i + 1:i + 1 + extra]:
            if c & 0xC0 != 0x80:
                return None
            number = (number << 6) | (c & 0x3F)
        if crc8(buf[at:at + length]) != buf[at + length]:
            return None
        j = i + 1 + extra
        if size_code == 1:
            block = 192
        elif size_code <= 5:
            block = 576 << (size_code - 2)
        elif size_code == 6:
            block = buf[j] + 1
        elif size_code == 7:
            block = int.from_bytes(buf[j:j + 2], "big") + 1
        else:
            block = 256 << (size_code - 8)
        return buf[at + 1] & 1, number, block

    def packets(self):
        """Each frame as a packet, as soon as it is known to be whole."""
        while not self.buf and self._fill():
            pass
        if not self.buf:
            return
        current = self._header(0) if _FLAC_SYNC.match(self.buf) else None
        while current == () and self._fill():
            current = self._header(0)
        if not current:
            raise BadSource("not audio it can decode (no FLAC frame where the first one should be)")
        search = 1
        while True:
            found = None
            lenient = len(self.buf) > _FLAC_RESYNC_BYTES
            for match in _FLAC_SYNC.finditer(self.buf, search):
                header = self._header(match.start())
                if header == ():
                    break  # (its header is still on its way)
                if header is None:
                    continue
                strategy, number, block = header
                expected = current[1] + (current[2] if current[0] else 1)
                if strategy == current[0] and (number == expected or lenient):
                    found = (match.start(), header)
                    break
            if found is not None:
                at, header = found
                yield av.Packet(bytes(self.buf[:at]))
                del self.buf[:at]
                current, search = header, 1
                continue
            if len(self.buf) > 4 * _FLAC_RESYNC_BYTES:
                raise BadSource("not audio it can decode (no FLAC frame header in 4 MB)")
            search = max(1, len(self.buf) - _FLAC_HEADER_MAX)
            if not self._fill():
                if self.buf:
                    yield av.Packet(bytes(self.buf))
                return

    def close(self) -> None:
        pass


class _Recorder:
    """The set as FLAC 48 kHz/24-bit, written as it arrives."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.container = av.open(str(path), "w", format="flac")
        self.stream = self.container.add_stream("flac", rate=STREAM_RATE, layout="stereo")
        self.stream.format = "s32"  # 24 bits per sample (see encoders.FlacEncoder)
        self.pts = 0

    def write(self, pcm: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm).reshape(1, -1), format="s32", layout="stereo")
        frame.sample_rate = STREAM_RATE
        frame.pts = self.pts
        self.pts += len(pcm)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self, keep: bool = True) -> None:
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
        finally:
            self.container.close()
        if keep:
            log.info("live: set recorded to %s (%.0f s)", self.path, self.pts / STREAM_RATE)
        else:
            self.path.unlink(missing_ok=True)


class _Handler(BaseHTTPRequestHandler):
    live: LiveInput  # set on the subclass LiveInput.start makes
    server_version = "RadioCalico-live"

    def parse_request(self) -> bool:
        # libshout's older sources say "SOURCE /mount ICE/1.0".
        self.raw_requestline = re.sub(rb" ICE/1\.0(\r?\n)$", rb" HTTP/1.0\1", self.raw_requestline)
        return super().parse_request()

    def log_message(self, format, *args) -> None:  # noqa: A002 (the stdlib's name)
        log.debug("live input %s: " + format, self.client_address[0], *args)

    def _answer(self, code: int, text: str, headers: dict | None = None, content_type="text/plain") -> None:
        body = text.encode()
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _dj(self) -> str | None:
        """The DJ the request's Basic auth names, or None (answered: 401, or 503 when the
        login cannot be checked now)."""
        header = self.headers.get("Authorization", "")
        name = None
        if header[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
                name = self.live.authenticate(user, password)
            except (binascii.Error, UnicodeDecodeError):
                name = None
            except LoginBusy:
                log.warning("live input: a DJ login from %s refused: another is being checked", self.client_address[0])
                self._answer(503, "Busy checking another login; try again\n", {"Retry-After": "1"})
                return None
            except Exception as exc:  # the database is down: refused, the stream goes on
                log.error("live input: cannot check DJ credentials (%s: %s)", exc.__class__.__name__, exc)
                self._answer(503, "Cannot check logins now; try again later\n", {"Retry-After": "10"})
                return None
            if name is None:
                log.warning("live input: wrong DJ name or password from %s", self.client_address[0])
        if name is None:
            self._answer(401, "Authentication required\n", {"WWW-Authenticate": 'Basic realm="RadioCalico live"'})
        return name

    def do_PUT(self) -> None:
        self._source()

    def do_SOURCE(self) -> None:
        self._source()

    def do_POST(self) -> None:
        self._answer(405, "Method not allowed\n", {"Allow": "GET, PUT, SOURCE"})

    def _source(self) -> None:
        live = self.live
        if urlsplit(self.path).path != MOUNT:
            self._answer(404, f"No such mountpoint (the live mount is {MOUNT})\n")
            return
        dj = self._dj()
        if dj is None:
            return
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type and content_type not in CONTENT_TYPES:
            log.warning("live: %s sent Content-Type %s, not audio it takes", dj, content_type)
            self._answer(415, f"Content-Type {content_type} is not supported: send Ogg (FLAC, Vorbis, Opus), "
                              "FLAC, MP3 or AAC\n")
            return
        session = Session(dj, self.headers.get("ice-name", "").strip(), self.headers.get("ice-genre", "").strip(),
                          int(live.settings.silence_seconds * STREAM_RATE))
        if not live.claim(session):
            log.warning("live: %s refused: %s is connected (mountpoint in use)", dj,
                        live.session.dj if live.session else "another DJ")
            self._answer(409, "Mountpoint in use\n")
            return
        try:
            self.connection.settimeout(live.settings.no_data_seconds)
            session.connection = self.connection
            # Icecast answers 200 before the first byte; some clients (butt) wait for it. After a
            # 100 Continue it goes in the same packet: a client reading only the 100 in one
            # read leaves nothing unread in its socket, whose close would then be a reset
            # that throws away the end of the set still on its way.
            continue_ = b"HTTP/1.1 100 Continue\r\n\r\n" if self.headers.get("Expect", "").lower() == "100-continue" else b""
            self.wfile.write(continue_ + f"{self.protocol_version} 200 OK\r\nServer: {self.version_string()}\r\n\r\n".encode())
            self.wfile.flush()
            length = self.headers.get("Content-Length")
            body = _Body(self.rfile, "chunked" in self.headers.get("Transfer-Encoding", "").lower(),
                         int(length) if length and length.isdigit() else None)
            log.info("live: %s connected from %s (%s)", dj, self.client_address[0], session.track.title)
            reason = "disconnected"
            try:
                live.receive(session, body, content_type)
            except BadSource as exc:
                reason = f"refused: {exc}"
            except (TimeoutError, socket.timeout):
                reason = f"no data for {live.settings.no_data_seconds:g} s"
            except av.FFmpegError as exc:
                if isinstance(exc.__context__, (TimeoutError, socket.timeout)) or "timed out" in str(exc):
                    reason = f"no data for {live.settings.no_data_seconds:g} s"
                else:
                    reason = f"stream ended ({exc.__class__.__name__}: {exc})"
            except ConnectionResetError:
                reason = "disconnected"
            except (OSError, ValueError) as exc:
                reason = f"connection lost ({exc.__class__.__name__}: {exc})"
            session.closed = True
            log.info("live: %s %s after %.1f s of audio (%d bytes); %d underrun(s), %.2f s of silence padded, "
                     "%.2f s dropped", dj, reason, session.received / STREAM_RATE, body.bytes, session.underruns,
                     session.underrun_samples / STREAM_RATE, session.dropped_samples / STREAM_RATE)
        finally:
            session.closed = True
            if not session.on_air and (session.silent or session.buffered < live.target):
                live.release(session)  # else the programme airs what is buffered, then releases it
            self.close_connection = True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/admin/metadata":
            self._answer(404, "Not found\n")
            return
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        dj = self._dj()
        if dj is None:
            return
        session = self.live.session
        if query.get("mode") != "updinfo" or query.get("mount", MOUNT) != MOUNT:
            self._answer(400, _iceresponse("Unsupported mode or mountpoint", 0), content_type="text/xml")
            return
        if session is None or session.closed:
            self._answer(400, _iceresponse("Source does not exist", 0), content_type="text/xml")
            return
        song = query.get("song") or " - ".join(x for x in (query.get("artist", ""), query.get("title", "")) if x)
        session.metadata(song)
        log.info("live: %s now playing %r", dj, song)
        self._answer(200, _iceresponse("Metadata update successful", 1), content_type="text/xml")


def _iceresponse(message: str, ok: int) -> str:
    return (f'<?xml version="1.0"?>\n<iceresponse><message>{escape(message)}</message>'
            f"<return>{ok}</return></iceresponse>\n")


def list_recordings(instance_path: Path) -> list[Path]:
    folder = Path(instance_path) / RECORDINGS_DIR
    return sorted(folder.glob("*.flac")) if folder.is_dir() else []


__all__ = ["LiveInput", "LiveSettings", "Session", "crossfade", "list_recordings", "show_track"]
