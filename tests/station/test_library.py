"""Library scan: tags, bit depth, sample rate and art of every supported format; corrupt files."""

from __future__ import annotations

import logging
import shutil

import pytest
from mutagen.aiff import AIFF
from mutagen.mp3 import MP3
from mutagen.wave import WAVE

from radiocalico.station import Station, StationError, scan_library
from radiocalico.station.cover import placeholder_cover, render_cover
from radiocalico.station.library import load_cover, read_track

from .audiofiles import art_jpeg, make_flac, noise_pcm, tag_id3, tag_mp4, tag_ogg, write_pcm

LOGGER = "radiocalico.station"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    red, green, blue = art_jpeg((200, 0, 0)), art_jpeg((0, 200, 0)), art_jpeg((0, 0, 200))
    make_flac(root / "a.flac", 1.0, 48000, 24, artist="Flac Artist", title="Flac Title",
              album="Flac Album", date="2021-05-01", picture=red)

    write_pcm(root / "b.wav", noise_pcm(1.0, 44100, 24), 44100, 24, "pcm_s24le", "wav")
    tag_id3(root / "b.wav", "Wav Artist", "Wav Title", "Wav Album", "1999", green, loader=WAVE)

    write_pcm(root / "c.mp3", noise_pcm(1.0, 44100, 16), 44100, 16, "libmp3lame", "mp3")
    tag_id3(root / "c.mp3", "Mp3 Artist", "Mp3 Title", "Mp3 Album", "2005", blue, loader=MP3)

    write_pcm(root / "d.m4a", noise_pcm(1.0, 96000, 24), 96000, 24, "alac", "ipod")
    tag_mp4(root / "d.m4a", "Alac Artist", "Alac Title", "Alac Album", "2010", red)

    write_pcm(root / "e.ogg", noise_pcm(1.0, 44100, 16), 44100, 16, "vorbis", "ogg")
    tag_ogg(root / "e.ogg", "Ogg Artist", "Ogg Title", "Ogg Album", "2015", green)

    folder = root / "aiff album"
    folder.mkdir()
    write_pcm(folder / "f.aiff", noise_pcm(1.0, 48000, 16), 48000, 16, "pcm_s16be", "aiff")
    tag_id3(folder / "f.aiff", "Aiff Artist", "Aiff Title", "Aiff Album", "1987", None, loader=AIFF)
    (folder / "cover.jpg").write_bytes(blue)

    bare = root / "bare"
    bare.mkdir()
    make_flac(bare / "untagged.flac", 0.5, 44100, 16)
    from mutagen.flac import FLAC

    audio = FLAC(bare / "untagged.flac")
    audio.delete()
    audio.save()
    return root


EXPECTED = {
    "a.flac": ("Flac Artist", "Flac Title", "Flac Album", "2021", 24, 48000, True),
    "b.wav": ("Wav Artist", "Wav Title", "Wav Album", "1999", 24, 44100, True),
    "c.mp3": ("Mp3 Artist", "Mp3 Title", "Mp3 Album", "2005", 16, 44100, True),
    "d.m4a": ("Alac Artist", "Alac Title", "Alac Album", "2010", 24, 96000, True),
    "e.ogg": ("Ogg Artist", "Ogg Title", "Ogg Album", "2015", 16, 44100, True),
    "f.aiff": ("Aiff Artist", "Aiff Title", "Aiff Album", "1987", 16, 48000, True),
    "untagged.flac": ("Unknown Artist", "untagged", "", "", 16, 44100, False),
}


def test_tags_depth_rate_and_art_of_every_format(library):
    tracks = {t.path.name: t for t in scan_library(library)}
    assert set(tracks) == set(EXPECTED)
    for name, (artist, title, album, date, bits, rate, has_art) in EXPECTED.items():
        t = tracks[name]
        assert (t.artist, t.title, t.album, t.date, t.bit_depth, t.sample_rate, t.has_art) == (
            artist, title, album, date, bits, rate, has_art), name
        assert 0.4 < t.duration < 1.2


def test_art_embedded_and_beside_the_file(library):
    tracks = {t.path.name: t for t in scan_library(library)}
    from PIL import Image
    import io

    expected_colour = {"a.flac": (200, 0, 0), "b.wav": (0, 200, 0), "c.mp3": (0, 0, 200),
                       "d.m4a": (200, 0, 0), "e.ogg": (0, 200, 0), "f.aiff": (0, 0, 200)}
    for name, colour in expected_colour.items():
        jpeg = render_cover(load_cover(tracks[name]))
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and image.size == (600, 600)
        pixel = image.getpixel((300, 300))
        assert all(abs(a - b) < 12 for a, b in zip(pixel, colour)), (name, pixel)
    assert tracks["f.aiff"].cover_file.name == "cover.jpg"
    assert load_cover(tracks["untagged.flac"]) is None


def test_placeholder_cover_is_the_logo_on_mint():
    from PIL import Image
    import io

    image = Image.open(io.BytesIO(placeholder_cover()))
    assert image.size == (600, 600)
    corner = image.getpixel((5, 5))
    assert all(abs(a - b) < 6 for a, b in zip(corner, (0xD8, 0xF2, 0xD5)))
    centre_region = image.crop((200, 200, 400, 400)).getcolors(1 << 16)
    assert len(centre_region) > 50  # the logo is there, not a flat field
    assert render_cover(b"not an image") == placeholder_cover()


def test_corrupt_files_are_skipped_with_one_log_line_each(library, tmp_path, caplog):
    root = tmp_path / "lib"
    shutil.copytree(library, root)
    (root / "garbage.flac").write_bytes(b"fLaC" + b"\x00\x01garbage" * 100)
    (root / "text.mp3").write_text("this is not an mp3 file\n" * 50)
    good = (root / "a.flac").read_bytes()
    (root / "truncated.flac").write_bytes(good[:200])
    (root / "empty.ogg").write_bytes(b"")
    (root / "notes.txt").write_text("ignored: not an audio extension")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        tracks = scan_library(root)
    assert {t.path.name for t in tracks} == set(EXPECTED)
    skipped = [r for r in caplog.records if r.name == LOGGER and "skipping" in r.getMessage()]
    names = sorted(r.getMessage().split(":")[0].rsplit("/", 1)[-1] for r in skipped)
    assert names == ["empty.ogg", "garbage.flac", "text.mp3", "truncated.flac"]


def test_read_track_of_a_missing_file_raises():
    from radiocalico.station.library import LibraryFileError

    with pytest.raises(LibraryFileError):
        read_track("/nonexistent/file.flac")


def test_empty_library_is_a_clear_error_at_start(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "broken.flac").write_bytes(b"nope")
    station = Station(tmp_path / "lib", tmp_path / "out", segment_seconds=0.5)
    with pytest.raises(StationError, match="no playable audio files"):
        station.start()
    assert not station.running
