// The player bar: play/pause, the clock and live position, mute and volume. Its controls
// report the listener's wishes to `controls` (toggle, toggleMute, setVolume, goLive); what
// it shows comes from playback's state.
import { $ } from "../dom.js";
import { formatTime } from "./format.js";

export class PlayerBar {
  constructor(controls) {
    this.volume = $("volume");
    this.mute = $("mute");
    this.play = $("play");
    this.play.addEventListener("click", () => controls.toggle());
    this.mute.addEventListener("click", () => controls.toggleMute());
    this.volume.addEventListener("input", () => controls.setVolume(Number(this.volume.value) / 100));
    $("go-live").addEventListener("click", () => controls.goLive());
  }

  // {wanted}: whether the listener wants sound (the button shows pause while it is wanted).
  renderPlaying({ wanted }) {
    document.body.classList.toggle("is-playing", wanted);
    this.play.setAttribute("aria-label", wanted ? "Pause" : "Play");
  }

  renderVolume({ volume, muted }) {
    const value = muted ? 0 : Math.round(volume * 100);
    this.volume.value = String(value);
    this.volume.style.setProperty("--fill", `${value}%`);
    this.volume.setAttribute("aria-valuetext", muted ? "Muted" : `${value}%`);
    this.mute.setAttribute("aria-pressed", String(muted));
    this.mute.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    document.body.classList.toggle("is-muted", muted || volume === 0);
  }

  // {elapsed} seconds into the track, and playback's snapshot: {paused, latency, behind}.
  renderClock({ elapsed, paused, latency, behind }) {
    $("elapsed").textContent = formatTime(elapsed);
    $("live-label").textContent = behind ? "Delayed" : "Live";
    $("go-live").hidden = !behind;
    $("latency").textContent = latency !== null && !paused
      ? `Live latency ${latency.toFixed(1)} s${behind ? " (behind live)" : ""}`
      : "";
  }
}
