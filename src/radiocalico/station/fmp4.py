"""A minimal fragmented-MP4 writer for one audio track (ISO/IEC 14496-12), shared by the
renditions: the init segment takes the track's sample entry, here the FLAC one ("Encapsulation
of FLAC in ISO Base Media File Format": `fLaC` with a `dfLa` box holding the STREAMINFO block),
in `mp4a` the AAC one.

Each codec frame (a FLAC frame, an AAC frame) is one MP4 sample. The init segment has empty sample tables and an `mvex`;
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


def audio_sample_entry(kind: bytes, channels: int, sample_size: int, sample_rate: int, *children: bytes) -> bytes:
    """An AudioSampleEntry (14496-12 12.2.3) of `kind` (b"fLaC", b"mp4a") with its codec's
    configuration box(es) as `children`."""
    return box(
        kind,
        b"\0" * 6, struct.pack(">H", 1),  # reserved, data_reference_index
        b"\0" * 8,  # reserved (version, revision, vendor)
        struct.pack(">HHHH", channels, sample_size, 0, 0),  # channelcount, samplesize, pre_defined, reserved
        struct.pack(">I", sample_rate << 16),  # samplerate 16.16
        *children,
    )


def flac_sample_entry(streaminfo: bytes, sample_rate: int, channels: int, bits: int) -> bytes:
    """The `fLaC` sample entry; `streaminfo` is the 34-byte STREAMINFO block body."""
    if len(streaminfo) != 34:
        raise ValueError(f"STREAMINFO must be 34 bytes, got {len(streaminfo)}")
    # METADATA_BLOCK_HEADER: last-block flag + type 0 (STREAMINFO), 24-bit length.
    dfla = full_box(b"dfLa", 0, 0, bytes([0x80]) + (34).to_bytes(3, "big"), streaminfo)
    return audio_sample_entry(b"fLaC", channels, bits, sample_rate, dfla)


def init_segment(sample_entry: bytes, sample_rate: int) -> bytes:
    """ftyp + moov (empty sample tables, mvex) for one audio track described by
    `sample_entry`, with media time counted in samples (mdhd timescale `sample_rate`)."""
    ftyp = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"isom", b"mp41", b"dash")
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, 1000, 0),  # creation, modification, timescale, duration
        struct.pack(">IH", 0x00010000, 0x0100), b"\0" * 10, _MATRIX, b"\0" * 24,
        struct.pack(">I", TRACK_ID + 1),
    )
    tkhd = full_box(
        b"tkhd", 0, 0x3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, TRACK_ID, 0, 0), b"\0" * 8,
        struct.pack(">hhhH", 0, 0, 0x0100, 0), _MATRIX, struct.pack(">II", 0, 0),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, sample_rate, 0, 0x55C4, 0))  # 'und'
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"soun"), b"\0" * 12, b"SoundHandler\0")
    smhd = full_box(b"smhd", 0, 0, struct.pack(">hH", 0, 0))
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), sample_entry),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", smhd, dinf, stbl)))
    trex = full_box(b"trex", 0, 0, struct.pack(">IIIII", TRACK_ID, 1, 0, 0, 0))
    return ftyp + box(b"moov", mvhd, trak, box(b"mvex", trex))


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
