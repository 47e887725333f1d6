// Which engine plays the stream, and what the browser can decode: small pure functions, so
// that the decisions can be tested in any browser by feeding them what another one would
// answer (Safari's native HLS, a browser without FLAC in Media Source Extensions).

export const HLSJS = "hls.js";
export const NATIVE = "native";
export const NONE = "none";

const FLAC_TYPE = 'audio/mp4; codecs="flac"';
const HLS_TYPE = "application/vnd.apple.mpegurl";

// hls.js wherever (Managed)MediaSource exists: it gives the player its quality control and
// recovery. The <audio> element's own HLS only where there is no MediaSource at all (older
// iPhones), and then it brings AirPlay and the lock screen for free.
export function chooseEngine({ mse, managedMse, nativeHls }) {
  if (mse || managedMse) return HLSJS;
  return nativeHls ? NATIVE : NONE;
}

// What this browser offers, for chooseEngine() and flacPlayable().
export function browserMedia(audio, win = globalThis) {
  const mse = typeof win.MediaSource?.isTypeSupported === "function";
  const managedMse = typeof win.ManagedMediaSource?.isTypeSupported === "function";
  const answer = audio?.canPlayType?.(HLS_TYPE) ?? "";
  return {
    mse,
    managedMse,
    nativeHls: answer === "probably" || answer === "maybe",
    flac: (mse && win.MediaSource.isTypeSupported(FLAC_TYPE))
      || (managedMse && win.ManagedMediaSource.isTypeSupported(FLAC_TYPE)),
  };
}

// The program-date-time heard with native HLS (ms), or null: the element's start date (the
// first segment's EXT-X-PROGRAM-DATE-TIME, NaN/0 before it is known) plus its position.
export function playingDateNative(startDate, currentTime) {
  const start = startDate?.getTime?.();
  if (!Number.isFinite(start) || start <= 0 || !Number.isFinite(currentTime)) return null;
  return start + currentTime * 1000;
}
