"""The song id: one song however its tags are spelled, different songs apart."""

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
