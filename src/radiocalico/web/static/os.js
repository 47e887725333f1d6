// Integration with the operating system: the Media Session (lock screen, media keys,
// headset buttons), keyboard shortcuts and the document title.

export function updateMediaSession(track, artworkUrl) {
  document.title = track ? `${track.title} · ${track.artist} | Radio Calico` : "Radio Calico";
  if (!("mediaSession" in navigator) || !track) return;
  const artwork = artworkUrl
    ? [{ src: new URL(artworkUrl, location.href).href, sizes: "512x512", type: "image/jpeg" }]
    : [];
  navigator.mediaSession.metadata = new MediaMetadata({
    title: track.title, artist: track.artist, album: track.album ?? "", artwork,
  });
}

export function bindMediaSession(playback) {
  if (!("mediaSession" in navigator)) return;
  const actions = {
    play: () => playback.play(),
    pause: () => playback.pause(),
    stop: () => playback.stop(),
  };
  for (const [action, handler] of Object.entries(actions)) {
    try {
      navigator.mediaSession.setActionHandler(action, handler);
    } catch { /* an action this browser does not know */ }
  }
  const audio = playback.audio;
  const state = () => { navigator.mediaSession.playbackState = audio.paused ? "paused" : "playing"; };
  audio.addEventListener("play", state);
  audio.addEventListener("pause", state);
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  return Boolean(target.closest("input, textarea, select, dialog[open]"));
}

// space or k: play/pause, m: mute, arrow keys: volume. Not while typing or in the dialog.
export function bindKeys(playback) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    const onButton = event.target instanceof Element && event.target.closest("button, a, summary");
    const key = event.key;
    const audio = playback.audio;
    if ((key === " " && !onButton) || key === "k" || key === "K") {
      playback.toggle();
    } else if (key === "m" || key === "M") {
      playback.toggleMute();
    } else if (key === "ArrowUp" || key === "ArrowRight") {
      playback.setVolume(Math.round(audio.volume * 100 + 5) / 100);
    } else if (key === "ArrowDown" || key === "ArrowLeft") {
      playback.setVolume(Math.round(audio.volume * 100 - 5) / 100);
    } else {
      return;
    }
    event.preventDefault();
  });
}
