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
  if (target.matches('input[type="range"]')) return false; // the volume: shortcuts still apply
  return Boolean(target.closest("input, textarea, select, dialog[open]"));
}

// The page's keyboard shortcuts, announced on the play and mute buttons with
// aria-keyshortcuts: k or Space toggles playback and m the mute, except in a form field,
// the dialog or a scrollable region, and Space also not on a button or link (it presses
// them). The arrow keys are left to the page, which they scroll, and to the volume slider,
// which they move while it has focus (see views/player-bar.js).
export function bindKeys(playback) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || scrollable(event.target) || document.querySelector("dialog[open]")) return;
    const key = event.key.toLowerCase();
    const onButton = event.target instanceof Element && event.target.closest("button, a, summary");
    if (key === "k" || (key === " " && !onButton)) {
      playback.toggle();
    } else if (key === "m") {
      playback.toggleMute();
    } else {
      return;
    }
    event.preventDefault();
  });
}

// Inside an element that scrolls by itself (not the page): Space scrolls it.
function scrollable(target) {
  for (let node = target instanceof Element ? target : null; node && node !== document.body && node !== document.documentElement; node = node.parentElement) {
    const { overflowY } = getComputedStyle(node);
    if ((overflowY === "auto" || overflowY === "scroll") && node.scrollHeight > node.clientHeight) return true;
  }
  return false;
}
