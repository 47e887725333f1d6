// The quality ladder as the listener sees it: which hls.js level is which rendition
// (lossless, high, saver) and how each one reads on the page. Pure functions of hls.js's
// levels and metadatav2.json's `renditions`, so that they can be tested without a stream.
//
// A level is matched to a rendition by its media playlist's file name (the last part of the
// level's URL) against `renditions[].playlist`, never by index: hls.js sorts levels by
// bandwidth and drops the ones the browser cannot decode. Without `renditions` (the public
// CDN's metadata) the ladder is inferred from each variant's CODECS and BANDWIDTH: a lossless
// codec is Lossless, the lossy variant with the most bandwidth is High, the one with the
// least (when there are two or more) is Data saver.
//
// With redundant origins (STATION_ORIGINS) the master lists each rendition once per origin,
// with the same BANDWIDTH and CODECS (RFC 8216 redundant variants), and hls.js makes each
// copy a level of its own: a rung is then several levels, `levels`, of which `level` is the
// first listed. hls.js moves between the copies when an origin fails, so which rung plays is
// always asked of `rungOf`, and which copy to switch to of `copyNear`.

export const LOSSLESS = "lossless";
export const HIGH = "high";
export const SAVER = "saver";
export const CHOICES = ["auto", LOSSLESS, HIGH, SAVER];
export const NAMES = { auto: "Auto", [LOSSLESS]: "Lossless", [HIGH]: "High", [SAVER]: "Data saver" };

const LOSSLESS_CODECS = new Set(["flac", "alac"]);
const CODEC_NAMES = { flac: "FLAC", alac: "ALAC", aac: "AAC", mp3: "MP3", opus: "Opus", "ac-3": "AC-3", "ec-3": "E-AC-3" };

// "fLaC" / "flac" -> "flac", "mp4a.40.2" -> "aac", "mp4a.40.34" -> "mp3", "Opus" -> "opus".
export function codecFamily(codecs) {
  const first = String(codecs ?? "").split(",")[0].trim().toLowerCase();
  if (first === "mp4a.40.34" || first === "mp4a.6b" || first === "mp3") return "mp3";
  if (first.startsWith("mp4a")) return "aac";
  return first;
}

function fileName(url) {
  const path = String(url ?? "").split(/[?#]/)[0];
  return path.slice(path.lastIndexOf("/") + 1);
}

function levelUrl(level) {
  const url = level.uri ?? level.url;
  return Array.isArray(url) ? url[0] : url;
}

function levelCodecs(level) {
  return level.attrs?.CODECS ?? level.audioCodec ?? level.codecSet ?? "";
}

function levelBandwidth(level) {
  return Number(level.bitrate ?? level.attrs?.BANDWIDTH) || 0;
}

// What makes two variants copies of one another: their attributes as the master gives them.
function variantKey(level) {
  return `${levelBandwidth(level)} ${levelCodecs(level)}`;
}

// Where a level's playlist is served from: its URL up to the file name.
function originOf(level) {
  const path = String(levelUrl(level) ?? "").split(/[?#]/)[0];
  return path.slice(0, path.lastIndexOf("/") + 1);
}

// Whether the master lists some variant more than once (redundant origins).
export function hasRedundantCopies(levels) {
  const seen = new Map(); // variant -> URL
  return levels.some((level) => {
    const key = variantKey(level);
    const url = levelUrl(level);
    if (seen.has(key) && seen.get(key) !== url) return true;
    seen.set(key, url);
    return false;
  });
}

// The rung a level index belongs to, whichever of its copies it is; null for none.
export function rungOf(ladder, index) {
  return ladder.find((rung) => rung.levels.includes(index)) ?? null;
}

// The copy of `rung` to switch to from `near`, the level hls.js loads now (its index, or -1):
// best one without a load error in hls.js (its origin answers), then one on the origin of
// `near` (the one working), then the first listed.
export function copyNear(rung, levels, near) {
  const origin = levels[near] ? originOf(levels[near]) : null;
  const cost = (index) => {
    const level = levels[index];
    if (!level) return 3;
    return (level.loadError > 0 ? 2 : 0) + (originOf(level) === origin ? 0 : 1);
  };
  return rung.levels.reduce((best, index) => (cost(index) < cost(best) ? index : best));
}

// The ladder, best first: [{name, level (index in `levels`), levels (the indices of its
// redundant copies, `level` first), codec, bitrate, bandwidth, sampleRate, bitDepth}].
// `renditions`: metadatav2.json's list, or null; `stream`: the station's stream_* fields
// ({sampleRate, bitDepth}) for an inferred lossless rung, or null.
export function buildLadder(levels, renditions = null, stream = null) {
  const found = Array.isArray(renditions) && renditions.length
    ? fromRenditions(levels, renditions)
    : inferred(levels, stream);
  const order = [LOSSLESS, HIGH, SAVER];
  return found.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

function fromRenditions(levels, renditions) {
  const rungs = [];
  levels.forEach((level, index) => {
    const r = renditions.find((x) => x.playlist && x.playlist === fileName(levelUrl(level)));
    if (!r || !NAMES[r.name]) return;
    const known = rungs.find((x) => x.name === r.name);
    if (known) {
      known.levels.push(index); // a redundant copy, on another origin
      return;
    }
    rungs.push({
      name: r.name,
      level: index,
      levels: [index],
      codec: codecFamily(r.codec ?? r.codecs),
      bitrate: r.bitrate ?? null,
      bandwidth: levelBandwidth(level),
      sampleRate: r.sample_rate ?? null,
      bitDepth: r.bit_depth ?? null,
    });
  });
  return rungs;
}

function inferred(levels, stream) {
  // One entry per variant, with the indices of all its copies.
  const variants = new Map();
  levels.forEach((level, index) => {
    const key = variantKey(level);
    if (variants.has(key)) variants.get(key).levels.push(index);
    else variants.set(key, { level, index, levels: [index], codec: codecFamily(levelCodecs(level)), bandwidth: levelBandwidth(level) });
  });
  const all = [...variants.values()];
  const rungs = [];
  const lossless = all.filter((x) => LOSSLESS_CODECS.has(x.codec)).sort((a, b) => b.bandwidth - a.bandwidth)[0];
  if (lossless) {
    rungs.push({ name: LOSSLESS, level: lossless.index, levels: lossless.levels, codec: lossless.codec, bitrate: null,
      bandwidth: lossless.bandwidth, sampleRate: stream?.sampleRate ?? null, bitDepth: stream?.bitDepth ?? null });
  }
  const lossy = all.filter((x) => x.codec && !LOSSLESS_CODECS.has(x.codec)).sort((a, b) => b.bandwidth - a.bandwidth);
  const rung = (name, x) => ({
    name, level: x.index, levels: x.levels, codec: x.codec, bitrate: nominal(x.level), bandwidth: x.bandwidth,
    sampleRate: null, bitDepth: null,
  });
  if (lossy.length) rungs.push(rung(HIGH, lossy[0]));
  if (lossy.length > 1) rungs.push(rung(SAVER, lossy.at(-1)));
  return rungs;
}

// A lossy variant's bitrate when nothing names it: its average bandwidth as measured by the
// publisher (container included), to the kbit/s.
function nominal(level) {
  const bps = Number(level.averageBitrate ?? level.attrs?.["AVERAGE-BANDWIDTH"]) || levelBandwidth(level);
  return bps ? Math.round(bps / 1000) * 1000 : null;
}

function formatKHz(hz) {
  const k = hz / 1000;
  return `${Number(k.toFixed(3))} kHz`;
}

// How the rendition heard reads: "Lossless · FLAC 48 kHz / 24-bit", "High · AAC 256 kbit/s",
// "Data saver · AAC 96 kbit/s".
export function describe(rung) {
  const codec = CODEC_NAMES[rung.codec] ?? String(rung.codec || "").toUpperCase();
  const details = rung.bitrate
    ? `${Math.round(rung.bitrate / 1000)} kbit/s`
    : [rung.sampleRate ? formatKHz(rung.sampleRate) : "", rung.bitDepth ? `${rung.bitDepth}-bit` : ""].filter(Boolean).join(" / ");
  return `${NAMES[rung.name]} · ${[codec, details].filter(Boolean).join(" ")}`;
}
