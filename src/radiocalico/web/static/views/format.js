// How times, sample rates and titles read on the page.

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// 44100 -> "44.1kHz", 22050 -> "22.05kHz", 11025 -> "11.025kHz": as many decimals as it has.
export function formatRate(hz) {
  if (!hz) return "";
  return `${Number((hz / 1000).toFixed(3))}kHz`;
}

// Codecs that keep every bit of the source (FFmpeg's names, as in metadatav2.json's
// source_codec); anything else is a lossy source.
const LOSSLESS_SOURCES = /^(flac|alac|pcm_|wavpack|ape|tta|mlp|truehd)/;
const CODEC_LABELS = { flac: "FLAC", alac: "ALAC", mp3: "MP3", aac: "AAC", opus: "Opus", vorbis: "Vorbis" };

const LAYOUTS = { 1: "mono", 6: "5.1", 8: "7.1" };

// "FLAC 24-bit 96kHz", "MP3 44.1kHz · lossy"; "24-bit 44.1kHz" when the codec is not known
// (the public CDN's metadata). The stream is 48 kHz stereo: another rate was resampled,
// more channels folded down; a levelled track says by how much (the lossless rendition then
// carries the levelled audio, not the file's bits).
export function formatSource(track) {
  const codec = track.sourceCodec || "";
  const lossy = codec !== "" && !LOSSLESS_SOURCES.test(codec);
  const label = codec.startsWith("pcm_") ? "PCM" : (CODEC_LABELS[codec] ?? codec.toUpperCase());
  const depth = track.bitDepth && !lossy ? `${track.bitDepth}-bit` : "";
  const channels = track.channels && track.channels !== 2 ? (LAYOUTS[track.channels] ?? `${track.channels} ch`) : "";
  const text = [label, depth, formatRate(track.sampleRate), channels].filter(Boolean).join(" ");
  const notes = [
    lossy ? "lossy" : (track.sampleRate && track.sampleRate !== 48000 ? "resampled to 48kHz" : ""),
    track.channels > 2 ? "folded to stereo" : "",
    Math.abs(track.gainDb || 0) >= 0.05 ? `levelled ${track.gainDb > 0 ? "+" : "−"}${Math.abs(track.gainDb).toFixed(1)} dB` : "",
  ];
  return [text, ...notes].filter(Boolean).join(" · ");
}

export function titleWithYear(track) {
  return track.year ? `${track.title} (${track.year})` : track.title;
}
