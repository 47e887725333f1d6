"""Copy the front-end packages the player needs from node_modules into static/vendor/.

Run after `npm ci` (the Makefile does): ``python -m radiocalico.web.vendor``.

Each package lands in ``static/vendor/<name>@<version>/`` so that the path changes with
the version and the files can be served as immutable. Only what the page uses is copied:

* hls.js: the light ES-module build (``hls.light.min.mjs``),
* @fontsource: one style sheet per family, ``latin.css``, with the latin subset of the weights
  the style sheets use and only its woff2 files (every browser with ES modules reads woff2):
  one request per family, and no other subset's faces for a page in English. Each face is cut
  down further with fontTools to the characters the page and track names show (FONT_UNICODES,
  also the faces' `unicode-range`, so that any other character is drawn by the next font of
  the stack) and without hinting (today's screens antialias): about a third lighter,
* axe-core: ``axe.min.js``, for the accessibility tests (never linked from the page).

It also bundles our own modules: esbuild (pinned in package.json's devDependencies) joins
``static/script.js`` and what it imports into ``static/build/script.js``, minified, with the
modules loaded on demand (the library) and the code they share as chunks beside it, and
hls.js left to its vendored file (the page preloads it): one response instead of forty,
about a quarter of the bytes; the style sheets are minified beside it. Production serves
these in place of the sources (``WEB_BUNDLE``, radiocalico.web.player); the dev server
serves the sources as written.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
BUILD_DIR = STATIC_DIR / "build"
BUNDLE_ENTRY = "script.js"
# The page's own style sheets, minified beside the bundle.
BUNDLE_STYLES = ("styles.css", "library.css")
# The operator console's entry and style sheet (/console), bundled the same way, beside it
# (build/console/), sharing chunks with the player's.
CONSOLE_BUNDLE = ("console/console.js", "console/console.css")
DEFAULT_NODE_MODULES = WEB_DIR.parents[2] / "node_modules"

HLS_FILES = ("hls.light.min.mjs",)
# (package, faces) for the fonts styles.css and library.css use: `font-weight` with the
# family, "-italic" where `font-style: italic` applies.
FONTS = {
    "@fontsource/montserrat": ("500", "600", "700"),
    "@fontsource/open-sans": ("400", "400-italic", "600"),
}
FONT_CSS = "latin.css"
# ASCII, Latin-1 (accented letters, · × ±), Œœ, the dotless i, and the punctuation that
# typeset text uses: – — ‘ ’ ‚ “ ” „ • … ‹ › € ™ −.
FONT_UNICODES = ("U+0020-007E, U+00A0-00FF, U+0131, U+0152-0153, U+02C6, U+02DA, U+02DC, "
                 "U+2013-2014, U+2018-201A, U+201C-201E, U+2022, U+2026, U+2039-203A, U+20AC, "
                 "U+2122, U+2212")
# OpenType features kept besides fontTools' defaults (kerning, ligatures, marks...): the
# tabular figures the counters use (`font-variant-numeric: tabular-nums`).
FONT_FEATURES = ("tnum",)
AXE_FILES = ("axe.min.js",)

_WOFF_FALLBACK = re.compile(r",\s*url\([^)]*\.woff\)\s*format\(['\"]woff['\"]\)")
_URL = re.compile(r"url\((\./files/[^)]+\.woff2)\)")
_SRC = re.compile(r"^(\s*src:[^;]*;)", re.MULTILINE)


def package_version(node_modules: Path, name: str) -> str:
    return json.loads((node_modules / name / "package.json").read_text())["version"]


def vendor_dir_name(name: str, version: str) -> str:
    """`static/vendor/` sub-folder of a package, e.g. `@fontsource/montserrat@5.3.0`."""
    return f"{name}@{version}"


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def subset_font(src: Path, dst: Path) -> None:
    """Write `src` (woff2) to `dst` with only FONT_UNICODES, fontTools' default features and
    FONT_FEATURES, unhinted."""
    from fontTools import subset  # the vendor step's own dependency (pyproject's `vendor` extra)

    options = subset.Options()
    options.flavor = "woff2"
    options.hinting = False
    options.layout_features += FONT_FEATURES
    font = subset.load_font(str(src), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=subset.parse_unicodes(FONT_UNICODES))
    subsetter.subset(font)
    dst.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(dst), options)


def vendor(node_modules: Path = DEFAULT_NODE_MODULES, out: Path = VENDOR_DIR) -> list[Path]:
    """Copy the needed files; returns the written paths."""
    if not (node_modules / "hls.js").is_dir():
        raise SystemExit(f"{node_modules} has no hls.js: run `npm ci` first")
    written: list[Path] = []
    if out.exists():
        shutil.rmtree(out)

    def take(name: str, files: tuple[str, ...], sub: str = "") -> Path:
        base = out / vendor_dir_name(name, package_version(node_modules, name))
        for file in files:
            _copy(node_modules / name / sub / file, base / file)
            written.append(base / file)
        return base

    take("hls.js", HLS_FILES, "dist")
    take("axe-core", AXE_FILES)
    for name, faces in FONTS.items():
        base = out / vendor_dir_name(name, package_version(node_modules, name))
        sheets = []
        for face in faces:
            css = _WOFF_FALLBACK.sub("", (node_modules / name / f"latin-{face}.css").read_text())
            css = _SRC.sub(rf"\1\n  unicode-range: {FONT_UNICODES};", css)
            for rel in _URL.findall(css):
                subset_font(node_modules / name / rel, base / rel)
                written.append(base / rel)
            sheets.append(css.strip())
        (base / FONT_CSS).write_text("\n\n".join(sheets) + "\n")
        written.append(base / FONT_CSS)
    return written


def esbuild_binary(node_modules: Path) -> Path:
    """esbuild's own executable: npm installs the one package of this platform
    (@esbuild/linux-x64...), which runs without Node (the image's build stage has none)."""
    found = sorted(node_modules.glob("@esbuild/*/bin/esbuild"))
    if not found:
        raise SystemExit(f"{node_modules} has no esbuild: run `npm ci` first")
    return found[0]


def bundle(node_modules: Path = DEFAULT_NODE_MODULES, static: Path = STATIC_DIR,
           out: Path = BUILD_DIR) -> list[Path]:
    """Bundle static/script.js and minify the style sheets into `out` (see the module's doc);
    returns the written paths."""
    if out.exists():
        shutil.rmtree(out)
    subprocess.run(
        [str(esbuild_binary(node_modules)), BUNDLE_ENTRY, *BUNDLE_STYLES, *CONSOLE_BUNDLE, "--bundle",
         "--format=esm", "--splitting", "--minify", "--sourcemap", "--target=es2022",
         "--charset=utf8", "--external:./vendor/*", f"--outdir={out}", "--log-level=warning"],
        cwd=static, check=True)
    return sorted(p for p in out.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    node_modules = Path(argv[0]) if argv else DEFAULT_NODE_MODULES
    files = vendor(node_modules)
    size = sum(f.stat().st_size for f in files)
    print(f"vendored {len(files)} files ({size / 1024:.0f} KiB) into {VENDOR_DIR}")
    files = bundle(node_modules)
    size = sum(f.stat().st_size for f in files if f.suffix != ".map")
    print(f"bundled {BUNDLE_ENTRY} and minified {', '.join(BUNDLE_STYLES)}: {len(files)} files "
          f"({size / 1024:.0f} KiB without source maps) in {BUILD_DIR}")


if __name__ == "__main__":
    main()
