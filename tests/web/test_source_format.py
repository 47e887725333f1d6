"""How the page reads a source: its codec, "lossy" for MP3/AAC/Opus, "resampled" for a rate
other than the stream's, 22.05 kHz with both decimals; artist/title/album lay out by their
own script (dir="auto"). Run in Chromium by importing the player's modules."""

from __future__ import annotations

import pytest

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]


def test_source_quality_reads_codec_lossy_resampled_and_exact_rates(page, station_server):
    page.route(station_server.url + "/blank", lambda route: route.fulfill(
        body='<!doctype html><title>blank</title><link rel="icon" href="data:,">', content_type="text/html"))
    goto(page, station_server.url + "/blank")
    shown = page.evaluate("""async () => {
      const f = await import('/static/views/format.js');
      const { parseMetadata } = await import('/static/metadata.js');
      const src = (codec, bits, rate) => f.formatSource(parseMetadata(
        {artist: 'a', title: 't', bit_depth: bits, sample_rate: rate, source_codec: codec}).tracks[0]);
      return [src('flac', 24, 48000), src('mp3', 16, 44100), src('opus', 16, 48000), src('aac', 16, 22050),
              src('pcm_s16le', 16, 44100), src('', 24, 96000), f.formatRate(22050), f.formatRate(11025)];
    }""")
    assert shown == ["FLAC 24-bit 48kHz", "MP3 44.1kHz · lossy", "Opus 48kHz · lossy",
                     "AAC 22.05kHz · lossy", "PCM 16-bit 44.1kHz · resampled to 48kHz",
                     "24-bit 96kHz · resampled to 48kHz", "22.05kHz", "11.025kHz"]


def test_source_quality_names_channels_folded_and_the_levelling_gain(page, station_server):
    """Issue 19: the published source format names channels too, and a levelled track says
    so: its lossless rendition carries levelled audio, not the file's bits."""
    page.route(station_server.url + "/blank", lambda route: route.fulfill(
        body='<!doctype html><title>blank</title><link rel="icon" href="data:,">', content_type="text/html"))
    goto(page, station_server.url + "/blank")
    shown = page.evaluate("""async () => {
      const f = await import('/static/views/format.js');
      const { parseMetadata } = await import('/static/metadata.js');
      const tracks = parseMetadata({artist: 'a', title: 't', bit_depth: 24, sample_rate: 48000,
        source_codec: 'flac', source_channels: 6, loudness: {gain_db: -3.24},
        prev_artist_1: 'b', prev_title_1: 'u', prev_bit_depth_1: 16, prev_sample_rate_1: 48000,
        prev_source_codec_1: 'flac', prev_source_channels_1: 1, prev_gain_db_1: 6,
        prev_artist_2: 'c', prev_title_2: 'v', prev_bit_depth_2: 24, prev_sample_rate_2: 48000,
        prev_source_codec_2: 'flac', prev_source_channels_2: 2, prev_gain_db_2: 0}).tracks;
      return tracks.map((t) => f.formatSource(t));
    }""")
    assert shown == ["FLAC 24-bit 48kHz 5.1 · folded to stereo · levelled −3.2 dB",
                     "FLAC 16-bit 48kHz mono · levelled +6.0 dB",
                     "FLAC 24-bit 48kHz"]


def test_titles_lay_out_by_their_own_script(page, station_server):
    goto(page, station_server.url + "/")
    dirs = page.evaluate("['track-artist', 'track-title', 'track-album'].map((id) => document.getElementById(id).dir)")
    assert dirs == ["auto", "auto", "auto"]
