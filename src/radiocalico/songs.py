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
_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def strip_invisible(text: str) -> str:
    """`text` without bidi controls and zero-width characters."""
    return _INVISIBLE.sub("", text)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    return _WHITESPACE.sub(" ", text.lower()).strip()


def song_id(artist: str, title: str) -> str:
    key = f"{normalise(artist)}\n{normalise(title)}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
