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

// "FLAC 24-bit 96kHz", "MP3 44.1kHz · lossy"; "24-bit 44.1kHz" when the codec is not known
// (the public CDN's metadata). The stream is 48 kHz: another rate was resampled.
export function formatSource(track) {
  const codec = track.sourceCodec || "";
  const lossy = codec !== "" && !LOSSLESS_SOURCES.test(codec);
  const label = codec.startsWith("pcm_") ? "PCM" : (CODEC_LABELS[codec] ?? codec.toUpperCase());
  const depth = track.bitDepth && !lossy ? `${track.bitDepth}-bit` : "";
  const text = [label, depth, formatRate(track.sampleRate)].filter(Boolean).join(" ");
  const note = lossy ? "lossy" : (track.sampleRate && track.sampleRate !== 48000 ? "resampled to 48kHz" : "");
  return [text, note].filter(Boolean).join(" · ");
}

export function titleWithYear(track) {
  return track.year ? `${track.title} (${track.year})` : track.title;
}
