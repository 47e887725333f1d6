// How times, sample rates and titles read on the page.

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function formatRate(hz) {
  if (!hz) return "";
  const k = hz / 1000;
  return `${Number.isInteger(k) ? k : k.toFixed(1)}kHz`;
}

export function titleWithYear(track) {
  return track.year ? `${track.title} (${track.year})` : track.title;
}
