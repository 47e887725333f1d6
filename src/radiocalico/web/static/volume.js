// The listener's volume and mute, remembered in this browser's storage across visits, and
// the last audible volume, which unmuting at volume 0 brings back.

const VOLUME_KEY = "radiocalico.volume";
const MUTED_KEY = "radiocalico.muted";
const AUDIBLE_KEY = "radiocalico.volume.audible";
const DEFAULT_VOLUME = 0.8;
const UNMUTE_VOLUME = 0.5; // unmuting at 0 with no audible volume known

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

function loadVolume(key) {
  const saved = load(key);
  const volume = Number(saved);
  return saved !== null && Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : null;
}

// Restore the remembered volume on `audio`, and remember every change from now on.
// Returns {lastAudible()}: the last volume above 0.
export function rememberVolume(audio) {
  audio.volume = loadVolume(VOLUME_KEY) ?? DEFAULT_VOLUME;
  audio.muted = load(MUTED_KEY) === "1";
  let audible = audio.volume > 0 ? audio.volume : loadVolume(AUDIBLE_KEY) || UNMUTE_VOLUME;
  audio.addEventListener("volumechange", () => {
    store(VOLUME_KEY, String(audio.volume));
    store(MUTED_KEY, audio.muted ? "1" : "0");
    if (audio.volume > 0) {
      audible = audio.volume;
      store(AUDIBLE_KEY, String(audible));
    }
  });
  return { lastAudible: () => audible };
}
