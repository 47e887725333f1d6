"""The player's static side without a browser: song id parity, vendoring, CSP, the page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from radiocalico import create_app
from radiocalico.services import services
from radiocalico.songs import song_id
from radiocalico.web import vendor
from radiocalico.web.player import STATIC_DIR, content_security_policy, stream_origin

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"

TRICKY = [
    ("Beyoncé", "Irreplaceable (Album Version)"),
    ("  The   Raconteurs ", "Steady,\tAs She\nGoes"),
    ("ＴＬＣ", "Ａｉｎ’ｔ ２ Ｐｒｏｕｄ ２ Ｂｅｇ"),  # full-width folds under NFKC
    ("Beyonce\u0301", "ﬁne"),  # combining accent, ligature
    ("ΣΊΣΥΦΟΣ", "ΟΔΥΣΣΕΥΣ"),  # final sigma
    ("İstanbul", "STRASSE straße"),
    ("a\u3000b\u00a0c\u2003d", "x\u001cy\u0085z"),  # ideographic, NBSP, em space; Python-only spaces
    ("\ufeffBOM", "tab\u000bvt"),  # U+FEFF is not white space to Python
    ("", ""),
    ("宇多田ヒカル", "First Love"),
    ("Sigur Rós", "Hoppípolla 🎵"),
    # Default-ignorable code points: soft hyphen, variation selector, Hangul filler, tag.
    ("Cho\u00adrale\ufe0f", "Sig\u3164ur\U000e0041 \u034f\u180e\U0001d173"),
]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_song_id_matches_python(tmp_path):
    module = tmp_path / "songid.mjs"
    shutil.copyfile(STATIC_DIR / "songid.js", module)
    runner = tmp_path / "run.mjs"
    runner.write_text(
        'import { songId } from "./songid.mjs";\n'
        'const pairs = JSON.parse(process.argv[2]);\n'
        'const out = [];\n'
        'for (const [a, t] of pairs) out.push(await songId(a, t));\n'
        'console.log(JSON.stringify(out));\n'
    )
    result = subprocess.run(["node", str(runner), json.dumps(TRICKY)], capture_output=True,
                            text=True, check=True)
    assert json.loads(result.stdout) == [song_id(a, t) for a, t in TRICKY]


def test_csp_is_strict_and_adds_only_the_stream_origin():
    same = content_security_policy("/stream")
    assert "default-src 'self'" in same and "script-src 'self';" in same
    assert "unsafe" not in same and "https:" not in same
    cdn = content_security_policy("https://d3d4yli4hf5bmh.cloudfront.net")
    for directive in ("connect-src", "img-src", "media-src"):
        value = re.search(rf"{directive} ([^;]*)", cdn).group(1)
        assert "https://d3d4yli4hf5bmh.cloudfront.net" in value
    assert "cloudfront" not in re.search(r"script-src ([^;]*)", cdn).group(1)
    assert stream_origin("/stream") is None
    assert stream_origin("http://cdn.example:8080/x/") == "http://cdn.example:8080"


def test_page_headers(tmp_path):
    app = create_app({"instance_path": tmp_path, "station_mode": "upstream",
                      "secret_key": "0123456789abcdef" * 2})
    try:
        response = app.test_client().get("/")
    finally:
        services(app).close()
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "connect-src 'self' https://d3d4yli4hf5bmh.cloudfront.net" in csp
    assert "frame-ancestors 'none'" in csp


def test_page_has_no_inline_script_or_style():
    html = (STATIC_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    assert "http://" not in html and "https://" not in html


def test_pinned_vendor_paths_match_node_modules():
    if not (NODE_MODULES / "hls.js").is_dir():
        pytest.skip("node_modules not installed")
    text = "\n".join((STATIC_DIR / name).read_text() for name in ("index.html", "playback.js"))
    for name in ("hls.js", "@fontsource/montserrat", "@fontsource/open-sans"):
        version = vendor.package_version(NODE_MODULES, name)
        assert f"{name}@{version}/" in text
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    assert pins["hls.js"] == vendor.package_version(NODE_MODULES, "hls.js")


def test_vendor_copies_only_what_the_page_uses(tmp_path):
    if not (NODE_MODULES / "hls.js").is_dir():
        pytest.skip("node_modules not installed")
    written = vendor.vendor(NODE_MODULES, tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert "hls.js@1.7.4/hls.light.min.mjs" in names
    assert not any(n.endswith(".woff") for n in names)
    css = (tmp_path / "@fontsource/montserrat@5.3.0/latin.css").read_text()
    refs = re.findall(r"url\((\./files/[^)]+)\)", css)
    assert len(refs) == 3 and all("-latin-" in ref for ref in refs)  # 500, 600, 700; latin only
    for ref in refs:
        assert (tmp_path / "@fontsource/montserrat@5.3.0" / ref).is_file()
    assert not any("cyrillic" in n or "greek" in n or "vietnamese" in n for n in names)
    # Every stylesheet the page links exists.
    html = (STATIC_DIR / "index.html").read_text()
    for href in re.findall(r'href="/static/vendor/([^"]+)"', html):
        assert (tmp_path / href).is_file(), href


def test_vendored_faces_keep_the_characters_the_page_shows(tmp_path):
    """The subset faces still draw what the page and track names show (accents, typographic
    punctuation, tabular figures, kerning), say which characters they cover, and are lighter
    than @fontsource's."""
    if not (NODE_MODULES / "hls.js").is_dir():
        pytest.skip("node_modules not installed")
    from fontTools.ttLib import TTFont

    vendor.vendor(NODE_MODULES, tmp_path)
    shown = "Beyoncé – “Café Ñandú” … Œuvre · 24 bit × 48 kHz ± 3 dB ‘n’ — naïve"
    for name in vendor.FONTS:
        base = tmp_path / vendor.vendor_dir_name(name, vendor.package_version(NODE_MODULES, name))
        css = (base / vendor.FONT_CSS).read_text()
        faces = re.findall(r"url\((\./files/[^)]+)\)", css)
        assert css.count(f"unicode-range: {vendor.FONT_UNICODES};") == len(faces)
        for ref in faces:
            font = TTFont(base / ref)
            assert set(map(ord, shown)) <= set(font.getBestCmap()), ref
            features = _features(font)
            if "kern" in _features(TTFont(NODE_MODULES / name / ref)):
                assert "kern" in features, ref
            # The counters' tabular figures: the feature, or figures tabular already.
            cmap, widths = font.getBestCmap(), font["hmtx"].metrics
            tabular = len({widths[cmap[ord(d)]][0] for d in "0123456789"}) == 1
            assert "tnum" in features or tabular, ref
            assert (base / ref).stat().st_size < (NODE_MODULES / name / ref).stat().st_size


def _features(font) -> set[str]:
    return {record.FeatureTag for table in ("GSUB", "GPOS") if table in font
            for record in font[table].table.FeatureList.FeatureRecord}


def test_the_bundle_keeps_hls_js_vendored_and_is_smaller(tmp_path):
    if not (NODE_MODULES / "hls.js").is_dir():
        pytest.skip("node_modules not installed")
    written = {p.name: p for p in vendor.bundle(NODE_MODULES, STATIC_DIR, tmp_path)}
    assert {vendor.BUNDLE_ENTRY, *vendor.BUNDLE_STYLES} <= set(written)
    script = written[vendor.BUNDLE_ENTRY].read_text()
    # hls.js stays the vendored file the page preloads (one copy, fetched once).
    version = vendor.package_version(NODE_MODULES, "hls.js")
    imports = set(re.findall(r'(?:from|import)\s*\(?"(\./[^"]+)"', script))
    assert f"./vendor/hls.js@{version}/hls.light.min.mjs" in imports
    ours = ("./vendor/hls.js@", "./chunk-", "./library-")
    assert all(i.startswith(ours) for i in imports), imports
    # The library, loaded when shown, stays out of the page's first script.
    assert any(name.startswith("library-") for name in written)
    sources = sum(p.stat().st_size for p in STATIC_DIR.glob("**/*.js")
                  if "vendor" not in p.parts and "build" not in p.parts)
    bundled = sum(p.stat().st_size for p in written.values() if p.suffix == ".js")
    assert bundled < sources * 0.7, (bundled, sources)
    for name in vendor.BUNDLE_STYLES:
        assert written[name].stat().st_size < (STATIC_DIR / name).stat().st_size


@pytest.mark.parametrize("web_bundle", [True, False])
def test_the_app_serves_the_bundle_only_when_configured(tmp_path, monkeypatch, web_bundle):
    if not (NODE_MODULES / "hls.js").is_dir():
        pytest.skip("node_modules not installed")
    from radiocalico.web import player

    build = tmp_path / "build"
    vendor.bundle(NODE_MODULES, STATIC_DIR, build)
    monkeypatch.setattr(player, "BUILD_DIR", build)
    app = create_app({"instance_path": tmp_path / "instance", "station_mode": "upstream",
                      "secret_key": "0123456789abcdef" * 2, "web_bundle": web_bundle})
    try:
        client = app.test_client()
        served = {name: client.get(f"/static/{name}")
                  for name in ("script.js", "styles.css", "playback.js")}
    finally:
        services(app).close()
    expected = build if web_bundle else STATIC_DIR
    for name in ("script.js", "styles.css"):
        assert served[name].status_code == 200
        assert served[name].data == (expected / name).read_bytes(), name
    assert served["script.js"].mimetype == "text/javascript"
    # A module the bundle holds is still served as written (tests import modules one by one).
    assert served["playback.js"].data == (STATIC_DIR / "playback.js").read_bytes()
