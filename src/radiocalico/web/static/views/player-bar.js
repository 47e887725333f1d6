// The player bar: play/pause, the clock and live position, mute and volume. Its controls
// report the listener's wishes to `controls` (toggle, toggleMute, setVolume, goLive); what
// it shows comes from playback's state.
import { $, setText } from "../dom.js";
import { formatTime } from "./format.js";

const LABELS = { offline: "Offline", reconnecting: "Reconnecting" };

export class PlayerBar {
  constructor(controls) {
    this.volume = $("volume");
    this.mute = $("mute");
    this.play = $("play");
    this.play.addEventListener("click", () => controls.toggle());
    this.mute.addEventListener("click", () => controls.toggleMute());
    this.volume.addEventListener("input", () => controls.setVolume(Number(this.volume.value) / 100));
    // The arrow keys move the volume only while the slider has focus, in steps of 5 %.
    this.volume.addEventListener("keydown", (event) => {
      const step = { ArrowUp: 5, ArrowRight: 5, ArrowDown: -5, ArrowLeft: -5 }[event.key];
      if (step === undefined || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      // The slider moves at once: the volumechange that renders it comes later, and a
      // second key pressed before it must step from here, not from the old position.
      const value = Math.min(100, Math.max(0, Number(this.volume.value) + step));
      this.volume.value = String(value);
      controls.setVolume(value / 100);
    });
    // Go live hides itself once at live; while it has focus it stays (greyed out) so that
    // focus is not lost to the top of the page, and goes when focus leaves it.
    this.goLive = $("go-live");
    this.goLive.addEventListener("click", () => {
      if (this.goLive.getAttribute("aria-disabled") !== "true") controls.goLive();
    });
    this.goLive.addEventListener("blur", () => {
      if (this.goLive.getAttribute("aria-disabled") === "true") this.goLive.hidden = true;
    });
  }

  // {wanted}: whether the listener wants sound (the button shows pause while it is wanted).
  renderPlaying({ wanted }) {
    document.body.classList.toggle("is-playing", wanted);
    this.play.setAttribute("aria-label", wanted ? "Pause" : "Play");
  }

  // Volume 0 shows as muted: the mute button then offers to unmute.
  renderVolume({ volume, muted: mutedFlag }) {
    const muted = mutedFlag || volume === 0;
    const value = muted ? 0 : Math.round(volume * 100);
    this.volume.value = String(value);
    this.volume.style.setProperty("--fill", `${value}%`);
    this.volume.setAttribute("aria-valuetext", muted ? "Muted" : `${value}%`);
    this.mute.setAttribute("aria-pressed", String(muted));
    this.mute.setAttribute("aria-label", muted ? "Unmute" : "Mute");
    document.body.classList.toggle("is-muted", muted);
  }

  // {elapsed} seconds into the track, and playback's snapshot: {paused, connection,
  // latency, behind}. During an outage the label says so instead of "Live".
  renderClock({ elapsed, paused, connection, latency, behind }) {
    setText($("elapsed"), formatTime(elapsed));
    setText($("live-label"), LABELS[connection] ?? (behind ? "Delayed" : "Live"));
    this.renderGoLive(behind);
    setText($("latency"), latency !== null && !paused
      ? `Live latency ${latency.toFixed(1)} s${behind ? " (behind live)" : ""}`
      : "");
  }

  renderGoLive(behind) {
    const focused = document.activeElement === this.goLive;
    this.goLive.setAttribute("aria-disabled", String(!behind));
    this.goLive.hidden = !behind && !focused;
  }
}
