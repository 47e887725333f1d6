"""The HLS writer's rendition seam and its state, without audio: fake encoders, fake frames."""

from __future__ import annotations

import json

import pytest

from radiocalico import stream_layout
from radiocalico.station.encoders import EncodedSegment, Rendition
from radiocalico.station.hls import HlsWriter
from radiocalico.station.publisher import Publisher

from .streamutil import parse_media_playlist

SAMPLES = 24000  # 0.5 s at 48 kHz


class FakeEncoder:
    frame_samples = 4000
    lookahead = 0

    def __init__(self, tag: bytes):
        self.tag = tag

    def init_segment(self) -> bytes:
        return b"init:" + self.tag

    def encode(self, pcm):  # pragma: no cover - the writer never encodes
        raise AssertionError


def renditions(*names: str) -> list[tuple[Rendition, FakeEncoder]]:
    return [(Rendition(name, name, f"codec-{name}", None, None, False, lambda: None), FakeEncoder(name.encode()))
            for name in names]


def publish(writer: HlsWriter, count: int, pdt: float, extra: dict | None = None) -> float:
    for _ in range(count):
        start = writer.decode_time - writer.run_start
        segments = [EncodedSegment(start, [bytes([i]) * (100 * (i + 1))] * 6) for i in range(len(writer.variants))]
        writer.publish(segments, SAMPLES, pdt, extra)
        pdt += SAMPLES / 48000
    return pdt


def playlist(out, name: str):
    return parse_media_playlist((stream_layout.hls_dir(out) / stream_layout.media_playlist_name(name)).read_text())


def test_master_lists_every_rendition_and_their_playlists_share_one_timeline(tmp_path):
    out = tmp_path / "out"
    writer = HlsWriter(out, renditions("lossless", "saver"), window=3)
    pdt = publish(writer, 5, 1_700_000_000.0)

    master = (stream_layout.hls_dir(out) / stream_layout.MASTER_NAME).read_text().splitlines()
    inf = [line for line in master if line.startswith("#EXT-X-STREAM-INF:")]
    assert [line.split('CODECS="')[1].rstrip('"') for line in inf] == ["codec-lossless", "codec-saver"]
    assert [master[master.index(line) + 1] for line in inf] == ["live_flac.m3u8", "live_saver.m3u8"]
    bandwidths = [int(line.split("BANDWIDTH=")[1].split(",")[0]) for line in inf]
    assert bandwidths[0] < bandwidths[1]  # measured per rendition (the fake saver is bigger)

    first, second = playlist(out, "lossless"), playlist(out, "saver")
    timeline = [(e.sequence, e.pdt, e.duration, e.discontinuity) for e in first.entries]
    assert timeline == [(e.sequence, e.pdt, e.duration, e.discontinuity) for e in second.entries]
    assert [e.sequence for e in first.entries] == [2, 3, 4]
    assert not {e.uri for e in first.entries} & {e.uri for e in second.entries}
    assert first.entries[0].map_uri != second.entries[0].map_uri

    # A restart continues both renditions, flagging the same segment as a discontinuity.
    again = HlsWriter(out, renditions("lossless", "saver"), window=3)
    assert again.resumed and again.decode_time == again.run_start == 5 * 6 * 4000
    publish(again, 1, pdt)
    first, second = playlist(out, "lossless"), playlist(out, "saver")
    assert [e.sequence for e in first.entries] == [e.sequence for e in second.entries] == [3, 4, 5]
    assert first.entries[-1].discontinuity and second.entries[-1].discontinuity


def test_the_extra_state_comes_back_after_a_restart(tmp_path):
    out = tmp_path / "out"
    writer = HlsWriter(out, renditions("lossless"))
    assert writer.extra == {}
    publish(writer, 2, 1_700_000_000.0, {"history": [{"title": "x"}]})
    assert HlsWriter(out, renditions("lossless")).extra == {"history": [{"title": "x"}]}


def test_a_version_1_state_is_still_read(tmp_path):
    """A state written before renditions (one FLAC playlist, the history at the top level)."""
    out = tmp_path / "out"
    writer = HlsWriter(out, renditions("lossless"), window=4)
    history = [{"title": "before", "started_at": 1_700_000_000.0}]
    pdt = publish(writer, 6, 1_700_000_000.0, {"history": history})
    path = out / stream_layout.STATE_NAME
    state = json.loads(path.read_text())
    flac = state.pop("renditions")["lossless"]
    state.pop("extra")
    path.write_text(json.dumps(dict(state, version=1, history=history, **flac)))
    before = playlist(out, "flac")

    again = HlsWriter(out, renditions("lossless"), window=4)
    assert again.resumed and again.stream_id == state["stream_id"]
    assert again.decode_time == 6 * SAMPLES
    assert Publisher(out, again.extra, []).history == history
    publish(again, 1, pdt)
    after = playlist(out, "flac")
    assert [e.uri for e in after.entries[:-1]] == [e.uri for e in before.entries[1:]]
    assert after.entries[-1].sequence == before.entries[-1].sequence + 1 and after.entries[-1].discontinuity


def test_a_version_2_state_is_still_read_and_new_renditions_join_the_timeline(tmp_path):
    """A state of one FLAC rendition keyed "flac" with its own decode time; the restarted
    station also offers saver: every window starts afresh, on the same tfdt clock."""
    out = tmp_path / "out"
    writer = HlsWriter(out, renditions("lossless"), window=4)
    pdt = publish(writer, 6, 1_700_000_000.0, {"history": []})
    path = out / stream_layout.STATE_NAME
    state = json.loads(path.read_text())
    flac = dict(state["renditions"].pop("lossless"), decode_time=state.pop("decode_time"))
    path.write_text(json.dumps(dict(state, version=2, renditions={"flac": flac})))

    again = HlsWriter(out, renditions("lossless", "saver"), window=4)
    assert again.resumed and again.decode_time == again.run_start == 6 * SAMPLES
    publish(again, 2, pdt)
    first, second = playlist(out, "flac"), playlist(out, "saver")
    assert [e.sequence for e in first.entries] == [e.sequence for e in second.entries] == [6, 7]
    assert first.entries[0].discontinuity and second.entries[0].discontinuity


def test_the_playlist_of_a_rendition_no_longer_offered_is_deleted(tmp_path):
    out = tmp_path / "out"
    publish(HlsWriter(out, renditions("lossless", "saver")), 2, 1_700_000_000.0)
    hls = stream_layout.hls_dir(out)
    assert (hls / "live_saver.m3u8").exists()
    assert (hls / "master_saver.m3u8").exists()  # the fakes' codec family is their name
    HlsWriter(out, renditions("lossless"))
    assert not (hls / "live_saver.m3u8").exists() and (hls / "live_flac.m3u8").exists()
    assert not (hls / "master_saver.m3u8").exists() and (hls / "master_lossless.m3u8").exists()
    assert not list(hls.glob("seg-*-saver-*"))


def test_a_segment_off_its_edge_is_refused(tmp_path):
    writer = HlsWriter(tmp_path / "out", renditions("lossless"))
    with pytest.raises(RuntimeError):
        writer.publish([EncodedSegment(FakeEncoder.frame_samples, [b"x"] * 6)], SAMPLES, 1_700_000_000.0)
