"""A minimal fragmented-MP4 writer for one FLAC audio track (ISO/IEC 14496-12 + the
"Encapsulation of FLAC in ISO Base Media File Format" spec: `fLaC` sample entry with a
`dfLa` box holding the STREAMINFO block).

Each FLAC frame is one MP4 sample. The init segment has empty sample tables and an `mvex`;
each media segment is `styp` + `moof` (`mfhd`, `traf` with `tfhd` default-base-is-moof,
`tfdt` v1, `trun` with sizes) + `mdat`. The caller keeps `tfdt` continuous.
"""

from __future__ import annotations

import struct

TRACK_ID = 1
_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def init_segment(streaminfo: bytes, sample_rate: int, channels: int, bits: int) -> bytes:
    """ftyp + moov for a FLAC track; `streaminfo` is the 34-byte STREAMINFO block body."""
    if len(streaminfo) != 34:
        raise ValueError(f"STREAMINFO must be 34 bytes, got {len(streaminfo)}")
    ftyp = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"isom", b"mp41", b"dash")
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, 1000, 0),  # creation, modification, timescale, duration
        struct.pack(">IH", 0x00010000, 0x0100), b"\0" * 10, _MATRIX, b"\0" * 24,
        struct.pack(">I", TRACK_ID + 1),
    )
    tkhd = full_box(
        b"tkhd", 0, 0x3,
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0), b"\0" * 8,
        struct.pack(">hhhH", 0, 0, 0x0100, 0), _MATRIX, struct.pack(">II", 0, 0),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, sample_rate, 0, 0x55C4, 0))
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"soun"), b"\0" * 12, b"SoundHandler\0")
    smhd = full_box(b"smhd", 0, 0, struct.pack(">hH", 0, 0))
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    # METADATA_BLOCK_HEADER: last-block flag + type 0 (STREAMINFO), 24-bit length.
    dfla = full_box(b"dfLa", 0, 0, bytes([0x80]) + (34).to_bytes(3, "big"), streaminfo)
    flac_entry = box(
        b"fLaC",
        b"\0" * 6, struct.pack(">H", 1),  # reserved, data_reference_index
        b"\0" * 8,  # reserved (version, revision, vendor)
        struct.pack(">HHHH", channels, bits, 0, 0),
        struct.pack(">I", sample_rate << 16),
        dfla,
    )
    stsd = full_box(b"stsd", 0, 0, struct.pack(">I", 1), flac_entry)
    stbl = box(
        b"stbl", stsd,
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    minf = box(b"minf", smhd, dinf, stbl)
    mdia = box(b"mdia", mdhd, hdlr, minf)
    trak = box(b"trak", tkhd, mdia)
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0))
    moov = box(b"moov", mvhd, trak, box(b"mvex", trex))
    return ftyp + moov


def media_segment(sequence_number: int, base_decode_time: int, frame_duration: int,
                  frames: list[bytes]) -> bytes:
    """styp + moof + mdat holding `frames` (each one FLAC frame of `frame_duration` samples)."""
    styp = box(b"styp", b"msdh", struct.pack(">I", 0), b"msdh", b"msix")
    mfhd = full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number & 0xFFFFFFFF))
    # default-base-is-moof | default-sample-duration | default-sample-flags
    tfhd = full_box(b"tfhd", 0, 0x020000 | 0x08 | 0x20,
                    struct.pack(">III", TRACK_ID, frame_duration, 0x02000000))
    tfdt = full_box(b"tfdt", 1, 0, struct.pack(">Q", base_decode_time))
    sizes = struct.pack(f">{len(frames)}I", *(len(f) for f in frames))
    trun_len = 12 + 8 + len(sizes)
    traf_len = 8 + len(tfhd) + len(tfdt) + trun_len
    moof_len = 8 + len(mfhd) + traf_len
    data_offset = moof_len + 8  # from the start of moof to the first byte of mdat's payload
    trun = full_box(b"trun", 0, 0x000001 | 0x000200, struct.pack(">Ii", len(frames), data_offset), sizes)
    moof = box(b"moof", mfhd, box(b"traf", tfhd, tfdt, trun))
    assert len(moof) == moof_len
    return styp + moof + box(b"mdat", *frames)
