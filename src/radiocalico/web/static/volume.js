// The listener's volume and mute, remembered in this browser's storage across visits.

const VOLUME_KEY = "radiocalico.volume";
const MUTED_KEY = "radiocalico.muted";
const DEFAULT_VOLUME = 0.8;

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch { /* private mode */ }
}

function load(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

// Restore the remembered volume on `audio`, and remember every change from now on.
export function rememberVolume(audio) {
  const saved = load(VOLUME_KEY);
  const volume = Number(saved);
  audio.volume = saved !== null && Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : DEFAULT_VOLUME;
  audio.muted = load(MUTED_KEY) === "1";
  audio.addEventListener("volumechange", () => {
    store(VOLUME_KEY, String(audio.volume));
    store(MUTED_KEY, audio.muted ? "1" : "0");
  });
}
