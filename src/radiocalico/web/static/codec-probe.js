// Whether this browser can change codec (FLAC <-> AAC) inside one MediaSource, found out by
// doing it, never by the user agent: a scratch MediaSource on a detached <audio>, a FLAC init
// and segment appended, SourceBuffer.changeType to AAC, an AAC init and segment appended.
// Chromium and Firefox manage; WebKit (GTK, and Safari's ManagedMediaSource) loses the
// SourceBuffer ("MediaSource readyState: closed"), and an engine without changeType cannot
// try. Where the answer is no, the player moves between codec families by handing over
// between two media elements (handover.js) instead.
import { aacInit, aacSegment, flacInit, flacSegment } from "./codec-probe-media.js";

const FLAC_TYPE = 'audio/mp4; codecs="flac"';
const AAC_TYPE = 'audio/mp4; codecs="mp4a.40.2"';
const PROBE_MS = 3000; // an engine that neither answers nor fails within this cannot switch

const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

function event(target, ok, bad) {
  return new Promise((resolve, reject) => {
    const done = () => { target.removeEventListener(ok, done); target.removeEventListener(bad, fail); resolve(); };
    const fail = () => { target.removeEventListener(ok, done); target.removeEventListener(bad, fail); reject(new Error(bad)); };
    target.addEventListener(ok, done);
    target.addEventListener(bad, fail);
  });
}

async function append(buffer, data) {
  const appended = event(buffer, "updateend", "error");
  buffer.appendBuffer(data);
  await appended;
}

async function attempt(MS) {
  const source = new MS();
  const audio = document.createElement("audio");
  audio.disableRemotePlayback = true; // ManagedMediaSource needs it (or an AirPlay source)
  const url = URL.createObjectURL(source);
  try {
    const opened = event(source, "sourceopen", "error");
    audio.src = url;
    await opened;
    const buffer = source.addSourceBuffer(FLAC_TYPE);
    await append(buffer, bytes(flacInit));
    await append(buffer, bytes(flacSegment));
    if (typeof buffer.changeType !== "function") return false;
    buffer.changeType(AAC_TYPE);
    await append(buffer, bytes(aacInit));
    await append(buffer, bytes(aacSegment));
    return source.readyState === "open";
  } finally {
    audio.removeAttribute("src");
    audio.load();
    URL.revokeObjectURL(url);
  }
}

// Resolves true or false, never rejects. Only asked where FLAC plays in MSE at all.
export async function canChangeCodec(win = globalThis) {
  const MS = win.ManagedMediaSource ?? win.MediaSource;
  if (!MS?.isTypeSupported?.(FLAC_TYPE) || !MS.isTypeSupported(AAC_TYPE)) return false;
  const timeout = new Promise((resolve) => setTimeout(() => resolve(false), PROBE_MS));
  return Promise.race([attempt(MS).catch(() => false), timeout]);
}
