"""The stable song id: one rule shared by the station, the API and the player.

A song is identified by its artist and title only (the same recording on two albums is
one song to a listener). Both are normalised so that trivial differences in the tags do
not split the votes:

0. Unicode's default-ignorable code points removed (bidi controls, zero-width characters,
   the soft hyphen, variation selectors, the BOM, Hangul fillers, tags, ...): invisible,
   they only make one name look like another,
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
# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15), which Python's
# unicodedata does not expose; web/static/songid.js spells the same ranges.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def strip_invisible(text: str) -> str:
    """`text` without default-ignorable code points (bidi controls, zero-width characters,
    soft hyphens, variation selectors, ...)."""
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
