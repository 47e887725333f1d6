"""Write the page's logo images from the brand logo (station/assets/RadioCalicoLogoTM.png).

    python -m radiocalico.web.logos

The 672 px brand PNG is far more than a page needs: ``static/logo-128.webp`` (the header
logo: 48 px on 2x screens, 40 px on a 3x phone; also the cover placeholder, shown only until
the first metadata answers, and the library's cover fallback: one file, fetched once) and ``static/favicon-32.png`` (the tab icon; PNG, which every browser reads
as an icon). The results are committed; run this again only when the brand logo changes.
"""

from __future__ import annotations

from importlib import resources

from PIL import Image

from radiocalico.station.cover import LOGO_RESOURCE
from radiocalico.web.vendor import STATIC_DIR

LOGO = ("logo-128.webp", 128)
FAVICON = ("favicon-32.png", 32)


def main() -> None:
    with resources.files("radiocalico.station.assets").joinpath(LOGO_RESOURCE).open("rb") as fh:
        brand = Image.open(fh).convert("RGBA")
    name, size = LOGO
    brand.resize((size, size), Image.Resampling.LANCZOS).save(
        STATIC_DIR / name, "WEBP", quality=85, method=6)
    name, size = FAVICON
    # A 256-colour palette (with its alpha) looks the same at 32 px, in 1.8 KiB instead of 3.
    brand.resize((size, size), Image.Resampling.LANCZOS).quantize(
        256, method=Image.Quantize.FASTOCTREE).save(STATIC_DIR / name, "PNG", optimize=True)
    for name, _ in (LOGO, FAVICON):
        print(f"{name}: {(STATIC_DIR / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
