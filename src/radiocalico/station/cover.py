"""cover.jpg: the current track's art as a 600x600 JPEG, or the brand placeholder.

Art is rendered ahead of playout (`library_index`), with bounded time and memory: a JPEG is
decoded already reduced (Pillow's draft mode, 1/2 to 1/8 scale); any image that would still
be over `MAX_COVER_PIXELS` once decoded (a 8000x8000 PNG) is refused from its header,
before decoding, with one log line naming it.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from importlib import resources

from PIL import Image, ImageOps

log = logging.getLogger("radiocalico.station")

COVER_SIZE = 600
# 4096x4096: 64 MB decoded as RGBA; art bigger than that (after a JPEG's draft reduction)
# is refused rather than decoded.
MAX_COVER_PIXELS = 4096 * 4096
MINT = (0xD8, 0xF2, 0xD5)
LOGO_RESOURCE = "RadioCalicoLogoTM.png"


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88, optimize=True, progressive=True)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def placeholder_cover() -> bytes:
    """The logo centred on a mint field, with 50% of its diameter of clear space around it."""
    canvas = Image.new("RGB", (COVER_SIZE, COVER_SIZE), MINT)
    with resources.files("radiocalico.station.assets").joinpath(LOGO_RESOURCE).open("rb") as fh:
        logo = Image.open(fh)
        logo.load()
    logo = logo.convert("RGBA")
    diameter = COVER_SIZE // 2  # clear space of half the diameter on each side
    logo.thumbnail((diameter, diameter), Image.Resampling.LANCZOS)
    offset = ((COVER_SIZE - logo.width) // 2, (COVER_SIZE - logo.height) // 2)
    canvas.paste(logo, offset, logo)
    return _jpeg(canvas)


def is_image(image_bytes: bytes) -> bool:
    """Whether Pillow reads `image_bytes` as an image (from its header and checksums; a
    truncated body shows when rendering)."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            image.verify()
        return True
    except Exception:  # Pillow raises many types on bad input
        return False


def render_cover(image_bytes: bytes | None) -> bytes:
    """Art bytes (any format Pillow reads) to a 600x600 JPEG; placeholder when absent/broken."""
    return (render_art(image_bytes, "cover art") if image_bytes else None) or placeholder_cover()


def render_art(image_bytes: bytes, where: str) -> bytes | None:
    """Art bytes to a 600x600 JPEG, or None (and one log line naming `where`) when they are
    not an image Pillow reads or too big to decode."""
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            image.draft("RGB", (COVER_SIZE, COVER_SIZE))  # fast JPEG downscale on decode
            if image.width * image.height > MAX_COVER_PIXELS:
                log.warning("cover art of %s is %dx%d pixels, too big to decode; not shown",
                            where, image.width, image.height)
                return None
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGBA", image.size, MINT + (255,))
                image = Image.alpha_composite(background, image)
            image = image.convert("RGB")
            image = ImageOps.fit(image, (COVER_SIZE, COVER_SIZE), Image.Resampling.LANCZOS)
            return _jpeg(image)
    except Exception as exc:  # Pillow raises many types on bad input (and DecompressionBombError)
        log.warning("unreadable cover art of %s (%s: %s); not shown", where, exc.__class__.__name__, exc)
        return None
