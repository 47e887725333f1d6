"""The fragmented-MP4 init segment for an AAC-LC track (ISO/IEC 14496-12 sample tables,
14496-14 `mp4a` sample entry with `esds`, 14496-1 descriptors), and the rendition's
HLS CODECS string and bitrates.

Media segments are `fmp4.media_segment(sequence, tfdt, aac.FRAME_SIZE, frames)`: one AAC
frame per MP4 sample, `tfdt` = the programme position of the segment's first frame (mdhd
timescale 48,000, the programme's sample clock). There is no edit list: the priming packet is
dropped before muxing (see `aac`), so media time is programme time in every segment, which is
what hls.js reads (it places fragments by `tfdt` and ignores `elst`), and renditions line up.

Why not PyAV's muxer (mp4, movflags frag_keyframe/frag_custom+empty_moov+default_base_moof,
in-memory output, measured with PyAV 18 / FFmpeg 8): an audio-only stream becomes a single
fragment unless `frag_duration` is set, and then every fragment is cut after a fixed duration
(94 frames, tfdt 0, 96256, 192512: 256 samples of drift per segment), PyAV cannot force a
fragment at an edge we choose (no av_write_frame(NULL)), and the muxer shifts the priming
packet to tfdt 0 so every tfdt would be 1,024 late. The hand-written boxes below are short.

The moov is `fmp4.init_segment`'s, with the `mp4a` sample entry built here.
"""

from __future__ import annotations

import struct

from .aac import FRAME_SIZE
from .audio import STREAM_CHANNELS, STREAM_RATE
from . import fmp4
from .fmp4 import audio_sample_entry, full_box

CODECS = "mp4a.40.2"  # RFC 6381: mp4a, objectTypeIndication 0x40 (Audio ISO/IEC 14496-3), AOT 2 (LC)

_AAC_BITS_PER_CHANNEL_FRAME = 6144  # 14496-3 4.5.3.2: the decoder's input buffer per channel


def _descriptor(tag: int, *payload: bytes) -> bytes:
    """A 14496-1 descriptor: tag, sizeOfInstance (one byte while < 128, else 4-byte form)."""
    body = b"".join(payload)
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body)
    return bytes([tag, 0x80 | (size >> 21) & 0x7F, 0x80 | (size >> 14) & 0x7F,
                  0x80 | (size >> 7) & 0x7F, size & 0x7F]) + body


def esds(audio_specific_config: bytes, avg_bitrate: int, sample_rate: int, channels: int) -> bytes:
    """ES_Descriptor > DecoderConfigDescriptor > DecoderSpecificInfo (the AudioSpecificConfig),
    plus the SLConfigDescriptor that 14496-14 requires (predefined = 2)."""
    buffer_size = _AAC_BITS_PER_CHANNEL_FRAME * channels // 8
    # The largest frames the decoder accepts, every frame: a true bound on any 1 s window.
    max_bitrate = _AAC_BITS_PER_CHANNEL_FRAME * channels * sample_rate // FRAME_SIZE
    decoder_config = _descriptor(
        0x04,
        struct.pack(">BB", 0x40, (0x05 << 2) | 0x01),  # Audio 14496-3; streamType audio, upStream 0, reserved 1
        buffer_size.to_bytes(3, "big"),
        struct.pack(">II", max_bitrate, avg_bitrate),
        _descriptor(0x05, audio_specific_config),
    )
    es = _descriptor(
        0x03,
        struct.pack(">HB", 0, 0),  # ES_ID 0 (in a file the track names the stream); no dependence/URL/OCR
        decoder_config,
        _descriptor(0x06, b"\x02"),
    )
    return full_box(b"esds", 0, 0, es)


def init_segment(audio_specific_config: bytes, avg_bitrate: int, sample_rate: int = STREAM_RATE,
                 channels: int = STREAM_CHANNELS) -> bytes:
    """ftyp + moov (empty sample tables, mvex) for one AAC-LC track. `avg_bitrate` is the
    encoder's target, written to the DecoderConfigDescriptor (FFmpeg's muxer does the same)."""
    entry = audio_sample_entry(b"mp4a", channels, 16, sample_rate,
                               esds(audio_specific_config, avg_bitrate, sample_rate, channels))
    return fmp4.init_segment(entry, sample_rate)


def bitrates(segment_sizes: list[int], segment_samples: list[int], sample_rate: int = STREAM_RATE) -> tuple[int, int]:
    """(peak, average) bit/s over whole segments, bytes as published: what HLS calls
    BANDWIDTH (the peak segment bitrate) and AVERAGE-BANDWIDTH."""
    rates = [8 * size * sample_rate / samples for size, samples in zip(segment_sizes, segment_samples)]
    average = 8 * sum(segment_sizes) * sample_rate / sum(segment_samples)
    return round(max(rates)), round(average)
