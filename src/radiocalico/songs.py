"""The stable song id: one rule shared by the station, the API and the player.

A song is identified by its artist and title only (the same recording on two albums is
one song to a listener). Both are normalised so that trivial differences in the tags do
not split the votes:

0. bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C) and zero-width characters
   (U+200B-200D, U+2060, U+FEFF) removed: invisible, they only make one name look like
   another,
1. Unicode NFKC (full-width and compatibility forms fold together),
2. lower case,
3. leading/trailing white space removed and inner runs of white space folded to one space.

The id is the first 32 hex digits (128 bits) of SHA-256 over
``normalised_artist + "\\n" + normalised_title`` in UTF-8. The player computes the same
value with ``crypto.subtle.digest`` (see ``web/songid.js``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

SONG_ID_PATTERN = r"^[0-9a-f]{32}$"
# The longest artist, title or album the API accepts (a vote names them); the station cuts
# its tags to it so that every song it airs can be voted on.
TAG_TEXT_MAX = 512
_WHITESPACE = re.compile(r"\s+")
# C0/C1 controls (a newline in a tag) and lone surrogates (a file name that is not UTF-8).
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def strip_invisible(text: str) -> str:
    """`text` without bidi controls and zero-width characters."""
    return _INVISIBLE.sub("", text)


def tag_text(text: str) -> str:
    """A tag as published and recorded: control characters folded to spaces, lone
    surrogates to U+FFFD, trimmed and cut to `TAG_TEXT_MAX` characters."""
    text = _CONTROL_OR_SURROGATE.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else " ", text)
    return text.strip()[:TAG_TEXT_MAX].strip()


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    return _WHITESPACE.sub(" ", text.lower()).strip()


def song_id(artist: str, title: str) -> str:
    key = f"{normalise(artist)}\n{normalise(title)}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
