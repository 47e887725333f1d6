"""Epoch locking: segment numbers, program-date-time and decode times read from the clock.

Two stations making one stream (`standby`) must name and time every segment the same way
without talking about it, as AWS MediaLive's epoch-locked pipelines do: segment `n` holds
the stream's samples [n*S, (n+1)*S) counted from the epoch (STATION_EPOCH, the Unix epoch
by default), its program-date-time is `epoch + n*S/rate`, its media sequence number is `n`
and its fMP4 decode time (`tfdt`) is `n*S`. A segment's name carries a stream id derived
from the epoch and the segment length (not a random one), so both stations' files have the
same names.

FFmpeg's FLAC encoder numbers its frames from 0 when it opens (the frame header's
"frame number", covered by the header's CRC-8 and the frame's CRC-16), so two encoders
opened at different times write different bytes for the same audio. `renumber_flac_frame`
rewrites that number to the frame's place on the epoch's clock (modulo 2^31, the field's
range) and the two CRCs; the audio bits are untouched.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

FRAME_NUMBER_RANGE = 1 << 31  # FLAC: a fixed-blocksize frame number has at most 31 bits


@dataclass(frozen=True)
class Epoch:
    start: float  # unix seconds where segment 0 begins
    segment_samples: int
    rate: int

    @property
    def segment_seconds(self) -> float:
        return self.segment_samples / self.rate

    def sequence_at(self, t: float) -> int:
        """The segment being made at unix time `t` (its end is still to come)."""
        return math.floor((t - self.start) / self.segment_seconds)

    def edge(self, sequence: int) -> float:
        """Unix time (program-date-time) of segment `sequence`'s first sample."""
        return self.start + sequence * self.segment_samples / self.rate

    def decode_time(self, sequence: int) -> int:
        return sequence * self.segment_samples

    @property
    def stream_id(self) -> str:
        """Part of every segment name: the same for every station on this epoch."""
        key = f"{self.start!r}:{self.segment_samples}:{self.rate}".encode()
        return hashlib.sha256(key).hexdigest()[:8]


def _crc8_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return table


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_CRC8 = _crc8_table()
_CRC16 = _crc16_table()


def crc8(data: bytes) -> int:
    """FLAC's frame-header CRC-8 (polynomial 0x07), as written here and checked by the live input."""
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(value: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number (up to 31 bits: 6 bytes)."""
    if value < 0x80:
        return bytes([value])
    length = 2
    while value >= 1 << (5 * length + 1):
        length += 1
    out = []
    for _ in range(length - 1):
        out.append(0x80 | (value & 0x3F))
        value >>= 6
    lead = (0xFF << (8 - length)) & 0xFF
    return bytes([lead | value] + out[::-1])


def _utf8_length(first: int) -> int:
    if first < 0x80:
        return 1
    length = 0
    while first & (0x80 >> length):
        length += 1
    return length


_CRC16_POLY = 0x18005


def _mulmod(a: int, b: int) -> int:
    """a * b mod FLAC's CRC-16 polynomial, over GF(2)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0x10000:
            a ^= _CRC16_POLY
    return product


def _advance(crc: int, count: int) -> int:
    """The CRC-16 of a message followed by `count` zero bytes, from the message's: crc * x^(8 count)."""
    power, base, exponent = 1, 2, 8 * count  # x^0, x^1
    while exponent:
        if exponent & 1:
            power = _mulmod(power, base)
        base = _mulmod(base, base)
        exponent >>= 1
    return _mulmod(crc, power)


def renumber_flac_frame(frame: bytes, number: int) -> bytes:
    """`frame` (one fixed-blocksize FLAC frame) with frame number `number` mod 2^31.

    The frame's CRC-16 is not computed again over the whole frame: CRC-16 (init 0) is
    linear, so crc(header' + rest) = crc(header + rest) ^ (crc(header') ^ crc(header)) *
    x^(8 len(rest)); only the few header bytes are read."""
    if len(frame) < 8 or frame[0] != 0xFF or frame[1] != 0xF8:
        raise ValueError("not a fixed-blocksize FLAC frame")
    block_code, rate_code = frame[2] >> 4, frame[2] & 0x0F
    end = 4 + _utf8_length(frame[4])
    extra = {6: 1, 7: 2}.get(block_code, 0) + {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    old_header = frame[:end + extra + 1]
    header = frame[:4] + _utf8_number(number % FRAME_NUMBER_RANGE) + frame[end:end + extra]
    header += bytes([crc8(header)])
    rest = frame[len(old_header):-2]
    crc = int.from_bytes(frame[-2:], "big") ^ _advance(_crc16(header) ^ _crc16(old_header), len(rest))
    return header + rest + crc.to_bytes(2, "big")
