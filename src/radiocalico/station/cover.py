"""cover.jpg: the current track's art as a 600x600 JPEG, or the brand placeholder."""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from importlib import resources

from PIL import Image, ImageOps

log = logging.getLogger("radiocalico.station")

COVER_SIZE = 600
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


def render_cover(image_bytes: bytes | None) -> bytes:
    """Art bytes (any format Pillow reads) to a 600x600 JPEG; placeholder when absent/broken."""
    if not image_bytes:
        return placeholder_cover()
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            image.draft("RGB", (COVER_SIZE, COVER_SIZE))  # fast JPEG downscale on decode
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "P"):
                image = image.convert("RGBA")
                background = Image.new("RGBA", image.size, MINT + (255,))
                image = Image.alpha_composite(background, image)
            image = image.convert("RGB")
            image = ImageOps.fit(image, (COVER_SIZE, COVER_SIZE), Image.Resampling.LANCZOS)
            return _jpeg(image)
    except Exception as exc:  # Pillow raises many types on bad input
        log.warning("unreadable cover art (%s); using the placeholder", exc)
        return placeholder_cover()
