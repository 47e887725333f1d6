"""The song id: one song however its tags are spelled, different songs apart."""

import pytest

from radiocalico.songs import song_id


def test_case_width_and_spacing_do_not_split_a_song():
    assert song_id("Shandi", "He's A Dream") == song_id("  SHANDI ", "he's   a dream")
    assert song_id("Ｓｈａｎｄｉ", "He's A Dream") == song_id("Shandi", "He's A Dream")


def test_artist_and_title_are_kept_apart():
    assert song_id("A", "B C") != song_id("A B", "C")
    assert song_id("Shandi", "He's A Dream") != song_id("Shandi", "He's A Dream (Live)")


def test_the_id_is_32_hex_digits_of_sha256():
    import hashlib

    expected = hashlib.sha256("shandi\nhe's a dream".encode()).hexdigest()[:32]
    assert song_id("Shandi", "He's A Dream") == expected


# Issue 21: 13 default-ignorable code points survived normalisation; each made a look-alike
# song id (a title that looks the same, a separate entry with its own votes).
IGNORABLE = ["\u00ad", "\u034f", "\u115f", "\u17b4", "\u180b", "\u180e", "\u2061",
             "\u206f", "\u3164", "\ufe00", "\ufe0f", "\uffa0", "\ufff0", "\U0001bca0",
             "\U0001d173", "\U000e0001", "\U000e0041", "\U000e01ef", "\u200b", "\ufeff"]


@pytest.mark.parametrize("mark", IGNORABLE, ids=[f"U+{ord(c):04X}" for c in IGNORABLE])
def test_invisible_code_points_make_no_look_alike(mark):
    assert song_id(f"Cho{mark}rale", f"Psalm{mark} 23") == song_id("Chorale", "Psalm 23")
    assert song_id(f"{mark}Chorale{mark}", "Psalm 23") == song_id("Chorale", "Psalm 23")


def test_visible_marks_still_count():
    assert song_id("Beyonce\u0301", "Halo") != song_id("Beyonce", "Halo")  # combining accent
    assert song_id("Chorale-", "Psalm") != song_id("Chorale", "Psalm")
