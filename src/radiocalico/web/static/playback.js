// Playback, the player's audio path: hls.js where Media Source Extensions exist, the
// browser's own HLS otherwise (Safari, iOS), recovery from network and media errors with
// bounded exponential backoff, live latency, volume.
//
// Events: "status" ({text, kind, ttl}: what the listener should be told), "state"
// (play/pause/waiting, see snapshot()), "volume" ({volume, muted}).
// A little over 300 lines: recovery is one state machine whose steps share its state.
import Hls from "./vendor/hls.js@1.7.4/hls.light.min.mjs";
import { backoff } from "./backoff.js";
import { Emitter } from "./events.js";
import { rememberVolume } from "./volume.js";

const MAX_ATTEMPTS = 10; // consecutive failed recoveries before we wait for the listener
const STALL_MS = 8000; // no progress for this long while playing: rebuild the pipeline

const HLS_CONFIG = {
  debug: false,
  enableWorker: true,
  lowLatencyMode: false,
  autoStartLoad: false,
  liveSyncDurationCount: 3,
  liveMaxLatencyDurationCount: 12,
  maxLiveSyncPlaybackRate: 1, // never change the pitch of music to catch up
  maxBufferLength: 20,
  backBufferLength: 30,
  liveDurationInfinity: true,
  startFragPrefetch: true,
};

export class Playback extends Emitter {
  constructor(audio, url) {
    super();
    this.audio = audio;
    this.url = url;
    this.hls = null;
    this.useHls = Hls.isSupported();
    this.wanted = false; // the listener wants sound
    this.attempt = 0;
    this.retryTimer = null;
    this.lastProgressAt = 0;
    this.lastTime = -1;
    this.mediaErrorAt = 0;
    this.playingSince = null; // performance.now() when the audio last started to play

    rememberVolume(audio);
    audio.addEventListener("volumechange", () => this.emit("volume", this.volumeState()));
    for (const type of ["playing", "pause", "waiting", "play"]) {
      audio.addEventListener(type, () => this.emitState(type));
    }
    audio.addEventListener("playing", () => this.healthy());
    audio.addEventListener("timeupdate", () => {
      if (audio.currentTime !== this.lastTime) {
        this.lastTime = audio.currentTime;
        this.lastProgressAt = performance.now();
      }
    });
    audio.addEventListener("error", () => {
      // Native HLS only: hls.js reports its own errors.
      if (!this.hls && this.wanted) this.fail("media", () => this.rebuild());
    });
    window.addEventListener("online", () => {
      if (!this.wanted) return;
      if (this.retryTimer || this.attempt > 0) {
        // Start the backoff afresh, but still as an outage, so that progress says "Back on air".
        this.attempt = 1;
        this.retryNow(() => this.rebuild());
      } else {
        this.status("", "ok"); // the buffer carried us through: nothing was lost
      }
    });
    window.addEventListener("offline", () => {
      if (this.wanted) this.status("You are offline. The music will resume when the network is back.", "warn");
    });
    setInterval(() => this.watchdog(), 1000);
  }

  // Load the playlists ahead of the play button so that pressing it is quick.
  prepare() {
    if (this.useHls) this.createHls();
  }

  createHls() {
    const hls = new Hls(HLS_CONFIG);
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(hls, data));
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      if (this.attempt > 0 && !this.audio.paused) this.healthy();
    });
    hls.attachMedia(this.audio);
    hls.loadSource(this.url);
  }

  destroyHls() {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
  }

  get playing() {
    return this.wanted && !this.audio.paused;
  }

  async play() {
    this.wanted = true;
    // A fresh press answers "Press play…"; an outage in progress keeps its message.
    if (!this.retryTimer) this.status("", "info");
    this.lastProgressAt = performance.now();
    if (this.useHls) {
      if (!this.hls) this.createHls();
      this.hls.startLoad(-1);
    } else if (!this.audio.src) {
      this.audio.src = this.url;
    }
    this.emitState("play");
    await this.playMedia();
  }

  async playMedia() {
    try {
      await this.audio.play();
    } catch (err) {
      if (err?.name === "NotAllowedError") {
        this.wanted = false;
        this.status("Press play to listen.", "info");
        this.emitState("pause");
      }
      // AbortError: a reload interrupted play(); the recovery path calls it again.
    }
  }

  pause() {
    this.wanted = false;
    this.audio.pause();
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  // "stop" for a live stream: pause and stop downloading.
  stop() {
    this.pause();
    this.hls?.stopLoad();
  }

  toggle() {
    if (this.wanted && !this.audio.paused) this.pause();
    else this.play();
  }

  setVolume(value) {
    this.audio.volume = Math.min(1, Math.max(0, value));
    if (this.audio.volume > 0 && this.audio.muted) this.audio.muted = false;
  }

  toggleMute() {
    this.audio.muted = !this.audio.muted;
  }

  // Milliseconds on the stream's program-date-time clock of what is being heard, or null.
  playingDate() {
    if (this.hls) {
      const date = this.hls.playingDate;
      return date ? date.getTime() : null;
    }
    const start = this.audio.getStartDate?.();
    if (start && Number.isFinite(start.getTime()) && start.getTime() > 0) {
      return start.getTime() + this.audio.currentTime * 1000;
    }
    return null;
  }

  // Seconds between the live edge and what is being heard, or null.
  latency() {
    if (this.hls) {
      if (!this.hls.levels?.length || this.audio.readyState < 2) return null;
      const latency = this.hls.latency;
      return latency > 0 ? latency : null;
    }
    const { seekable } = this.audio;
    if (seekable.length && this.audio.readyState >= 2) {
      return Math.max(0, seekable.end(seekable.length - 1) - this.audio.currentTime);
    }
    return null;
  }

  targetLatency() {
    return this.hls?.targetLatency ?? 6;
  }

  behindLive() {
    const latency = this.latency();
    if (latency === null) return false;
    const slack = Math.max(3, 2 * (this.hls?.levels?.[0]?.details?.targetduration ?? 2));
    return latency > this.targetLatency() + slack;
  }

  goLive() {
    if (this.hls?.liveSyncPosition) {
      this.audio.currentTime = this.hls.liveSyncPosition;
    } else if (this.audio.seekable.length) {
      this.audio.currentTime = Math.max(0, this.audio.seekable.end(this.audio.seekable.length - 1) - 6);
    }
    if (!this.wanted) this.play();
  }

  status(text, kind, ttl = 0) {
    this.emit("status", { text, kind, ttl });
  }

  emitState(type) {
    if (!this.audio.paused && this.playingSince === null) this.playingSince = performance.now();
    if (this.audio.paused) this.playingSince = null;
    this.emit("state", { type, ...this.snapshot() });
  }

  // What the player bar shows: whether the listener wants sound, and the live position.
  snapshot() {
    const behind = !this.audio.paused && this.behindLive();
    return { wanted: this.wanted, paused: this.audio.paused, latency: this.latency(), behind };
  }

  volumeState() {
    return { volume: this.audio.volume, muted: this.audio.muted };
  }

  // Seconds since the audio started to play, for the clock when the track's start is unknown.
  playingFor() {
    return this.playingSince === null ? 0 : (performance.now() - this.playingSince) / 1000;
  }

  healthy() {
    if (this.attempt > 0 || this.retryTimer) {
      this.status("", "ok"); // the outage is over
      this.status("Back on air.", "ok", 4000);
    }
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  onHlsError(hls, data) {
    if (hls !== this.hls) return; // a destroyed instance
    if (!data.fatal) {
      // Offline, "You are offline" already says why the buffer ran dry.
      if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR && this.wanted && navigator.onLine !== false) {
        this.status("Buffering…", "info", 3000);
      }
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      const now = performance.now();
      const recent = now - this.mediaErrorAt < 10000;
      this.mediaErrorAt = now;
      if (!recent) {
        this.status("Recovering from a playback hiccup…", "info", 4000);
        hls.recoverMediaError();
        if (this.wanted) this.playMedia();
        return;
      }
      this.fail("media", () => this.rebuild());
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && hls.levels?.length && this.attempt < 3) {
      this.fail("network", () => {
        hls.startLoad(-1);
        if (this.wanted) this.playMedia();
      });
      return;
    }
    this.fail(data.type === Hls.ErrorTypes.NETWORK_ERROR ? "network" : "other", () => this.rebuild());
  }

  fail(kind, action) {
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    if (this.attempt > MAX_ATTEMPTS) {
      this.retryTimer = null;
      this.destroyHls();
      this.wanted = false;
      this.audio.pause();
      this.status("The stream is unavailable right now. Press play to try again.", "warn");
      this.emitState("pause");
      return;
    }
    const wait = backoff(this.attempt);
    const offline = navigator.onLine === false;
    const what = offline ? "You are offline" : kind === "network" ? "Connection to the station lost" : "Playback interrupted";
    this.status(`${what}. Reconnecting in ${Math.ceil(wait / 1000)} s…`, "warn");
    this.retryTimer = setTimeout(() => this.retryNow(action), wait);
  }

  retryNow(action) {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.status(navigator.onLine === false ? "You are offline. Reconnecting…" : "Reconnecting…", "info");
    action();
  }

  // Destroy and recreate the whole pipeline (hls.js's last resort), then carry on playing.
  rebuild() {
    this.lastProgressAt = performance.now();
    if (this.useHls) {
      this.destroyHls();
      this.createHls();
      if (this.wanted) {
        this.hls.startLoad(-1);
        this.playMedia();
      }
    } else {
      const src = this.url;
      this.audio.removeAttribute("src");
      this.audio.load();
      this.audio.src = src;
      if (this.wanted) this.playMedia();
    }
  }

  watchdog() {
    if (!this.wanted || this.retryTimer) return;
    if (this.audio.paused && this.audio.readyState >= 3) {
      this.playMedia();
      return;
    }
    if (performance.now() - this.lastProgressAt > STALL_MS) {
      this.fail("stall", () => this.rebuild());
    }
  }
}
