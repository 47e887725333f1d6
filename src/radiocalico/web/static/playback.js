// Playback, the player's audio path: hls.js where Media Source Extensions exist, the
// browser's own HLS otherwise (Safari, iOS), recovery from network and media errors,
// where to resume after a pause, live latency, volume.
//
// Recovery never gives up while the listener wants sound and the page is open: retries back
// off exponentially up to 30 s, and start again at once when the network comes back or the
// page is shown again. While the browser knows it is offline there is no countdown to show,
// only "offline" (retries still go on quietly, in case the browser is wrong).
//
// Resuming (the play button, a media key, the lock screen: all call play()): after a pause
// longer than the audio buffered ahead of the paused position, the listener hears live radio
// again; after a shorter one, the music carries on where it was paused.
//
// Native HLS (and AirPlay) is given `nativeUrl`, a master whose variants share one codec
// (a native player cannot change codec mid-stream, see station/hls.py). Beside hls.js the
// element also offers it as a <source type="application/vnd.apple.mpegurl">: on an iPhone,
// hls.js on ManagedMediaSource turns remote playback off unless such a source is there.
//
// A change of codec family (FLAC <-> AAC) where the engine cannot change codec inside one
// MediaSource (codec-probe.js) is a handover to a second element (handover.js): `audio` is
// the slot standing for whichever element is audible.
//
// Events: "status" ({text, kind, ttl}: what the listener should be told), "state"
// (play/pause/waiting, see snapshot()), "volume" ({volume, muted}), "hls" (each new hls.js
// instance, before it loads the playlist: the quality controller steers it; or, after a
// handover, already playing), "origin" (the URL of the media playlist hls.js loaded, each
// time the audible instance loads one from another folder than before: with redundant
// origins, the one it fails over to, which the metadata and cover follow, see origin.js).
// Over 300 lines: recovery is one state machine whose steps share its state.
import Hls from "./vendor/hls.js@1.7.4/hls.light.min.mjs";
import { backoff } from "./backoff.js";
import { canChangeCodec } from "./codec-probe.js";
import { browserMedia, chooseEngine, HLSJS, NATIVE } from "./engine.js";
import { Emitter } from "./events.js";
import { handOver, MediaSlot, retire, spareOf, unlock } from "./handover.js";
import { hasRedundantCopies } from "./ladder.js";
import { linkEstimate } from "./link.js";
import { LivePosition } from "./position.js";
import { rememberVolume } from "./volume.js";

const STALL_MS = 8000; // no progress for this long while playing: rebuild the pipeline
const RETRY_CAP_MS = 30000; // the longest wait between two retries

const OFFLINE = "You are offline. The music will resume when the network is back.";
const HLS_TYPE = "application/vnd.apple.mpegurl";

// Segments behind the live edge where a player without parts (or a handover) starts, and
// the distance past which hls.js jumps back to live.
const LIVE_SYNC_SEGMENTS = 3;
const MAX_LATENCY_SEGMENTS = 12;
// The link (bits/s, link.js) from which the page plays in low-latency mode.
const LOW_LATENCY_MIN_BPS = 2_000_000;
// Reloads of a live playlist that has not changed after which hls.js takes its origin for
// stopped and moves to a redundant copy on another (see newHls).
const UNCHANGED_RELOADS_TO_FAIL_OVER = 3;

const HLS_CONFIG = {
  debug: false,
  enableWorker: true,
  // Low-Latency HLS: parts and blocking playlist reloads, playing PART-HOLD-BACK behind
  // the live edge (hls.js uses it only when liveSyncDurationCount is left unset: its
  // default is the LIVE_SYNC_SEGMENTS above for a playlist without parts). Only where the
  // page's own loading measured a fast link: a 1 s hold-back on a 300 kbit/s link with
  // 150 ms of round trip stalled (0.8-0.9 s, tests/web/test_slow_link_browser.py), where
  // three segments behind never did. Read each time hls.js is built, as the estimate below.
  get lowLatencyMode() {
    return linkEstimate() >= LOW_LATENCY_MIN_BPS;
  },
  autoStartLoad: false,
  // Catching up after a stall: at most 5 % faster, pitch kept (the media element's
  // preservesPitch), so music never audibly speeds up. hls.js does it only with over 1 s
  // buffered, and the page does not push closer itself: a low-latency player at the target
  // has under three parts buffered, and a quality switch then ran dry (docs/architecture.md).
  maxLiveSyncPlaybackRate: 1.05,
  maxBufferLength: 20,
  backBufferLength: 30,
  liveDurationInfinity: true,
  startFragPrefetch: true,
  // The link as the page's loading measured it (link.js), read each time hls.js is built
  // (prepare(), once the page has loaded): Auto starts on the rung it sustains, not on High.
  get abrEwmaDefaultEstimate() {
    return linkEstimate();
  },
  // Redundant origins (the master listing each variant once per origin) as levels side by
  // side, which the quality controller maps to rungs (ladder.js). hls.js's content steering
  // would show only one origin's levels, fail over to another rung on the same stopped origin
  // before trying the next origin, and give the choice no way to stay on its rung there.
  // Neither our station nor the public CDN publishes a steering manifest.
  contentSteeringController: null,
};

// Before hls.js lets go of an element: its detach calls load(), and the element would then
// pick the native HLS <source> (offerNativeSource) and fetch the stream on its own where the
// engine plays HLS natively (Chromium 156 does; the retired element of a handover logged
// 416s). The element gets the source again when hls.js attaches to it.
function withdrawNativeSource(element) {
  element.querySelector(`source[type="${HLS_TYPE}"]`)?.remove();
}

export class Playback extends Emitter {
  // `clock.now()`: the station's time in ms (see clock.js), for the latency heard.
  // `nativeUrl`: the single-codec master for the browser's own HLS (see the top).
  constructor(element, url, { clock = { now: () => Date.now() }, nativeUrl = url } = {}) {
    super();
    this.slot = new MediaSlot(element);
    this.audio = this.slot.media;
    const audio = this.audio;
    this.url = url;
    this.nativeUrl = nativeUrl;
    this.clock = clock;
    this.hls = null;
    // Without either engine the element is still given the URL: it may know better.
    this.useHls = chooseEngine(browserMedia(audio)) === HLSJS && Hls.isSupported();
    this.engine = this.useHls ? HLSJS : NATIVE;
    this.codecSwitch = null; // whether the engine changes codec in one MediaSource; null: not known yet
    if (this.useHls) canChangeCodec().then((can) => { this.codecSwitch = can; });
    this.handing = false; // a handover to another codec family is under way
    this.spare = spareOf(element); // the element the next handover plays on (handover.js)
    this.handoverFailures = 0;
    this.handoverRetryAt = 0; // performance.now() before which a failed handover is not retried
    this.wanted = false; // the listener wants sound
    this.attempt = 0;
    this.retryTimer = null;
    this.lastProgressAt = 0;
    this.lastTime = -1;
    this.mediaErrorAt = 0;
    this.playingSince = null; // performance.now() when the audio last started to play
    this.paused = null; // {at: performance.now(), ahead: ms buffered ahead} of the last pause
    this.origin = null; // the folder of the media playlist last loaded (see loadedFrom)

    this.volumes = rememberVolume(audio);
    this.position = new LivePosition(audio, () => this.hls, clock);
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
      if (this.inOutage()) this.retrySoon();
      else this.status("", "ok"); // the buffer carried us through: nothing was lost
    });
    window.addEventListener("offline", () => {
      if (this.wanted) this.status(OFFLINE, "warn");
      this.emitState("offline");
    });
    // A hidden tab's timers are throttled: coming back is a good moment to try at once.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.wanted && this.inOutage()) this.retrySoon();
    });
    setInterval(() => this.watchdog(), 1000);
  }

  // Load the playlists ahead of the play button so that pressing it is quick.
  prepare() {
    if (this.useHls) this.createHls();
  }

  // A fresh start (not a handover, which aligns by seeking, see startBehind()) plays from
  // where the first fragment loaded starts. Before that fragment's timestamps are known
  // hls.js picks it by the playlist's durations, and the live sync point, computed once they
  // are, can fall at its very end: playback then jumped there and, on a slow link, waited a
  // second for the next fragment (a stall just after the first audio, heard later).
  createHls() {
    const hls = this.newHls({ startOnSegmentBoundary: true });
    // Except with Low-Latency HLS parts: the start is then PART-HOLD-BACK behind the live
    // edge and the next part comes as soon as it is made; going back to the boundary of the
    // segment loaded first would add up to a segment of latency, caught up only at 1.05x.
    hls.once(Hls.Events.LEVEL_LOADED, (_event, { details }) => {
      if (details.partList?.length) hls.config.startOnSegmentBoundary = false;
    });
    this.hls = hls;
    this.emit("hls", hls);
    hls.attachMedia(this.slot.element);
    hls.loadSource(this.url);
  }

  newHls(config = {}) {
    const hls = new Hls({ ...HLS_CONFIG, ...config });
    // hls.js accepts liveMaxLatencyDurationCount only beside liveSyncDurationCount, which
    // would override PART-HOLD-BACK: set after the check.
    if (config.liveMaxLatencyDurationCount === undefined) hls.config.liveMaxLatencyDurationCount = MAX_LATENCY_SEGMENTS;
    // hls.js's default, Infinity, waits on a stopped origin's playlist for ever (a crashed
    // station's files stay served, unchanged). Only with a redundant copy to move to: with one
    // origin the error would move to another rung, or stop loading, on a brief hiccup of the
    // station, which hls.js otherwise sits out. Read by hls.js at each reload, so set here.
    hls.on(Hls.Events.MANIFEST_PARSED, (_event, { levels }) => {
      if (hasRedundantCopies(levels)) hls.config.liveMaxUnchangedPlaylistRefresh = UNCHANGED_RELOADS_TO_FAIL_OVER;
    });
    hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(hls, data));
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      if (hls === this.hls && this.attempt > 0 && !this.audio.paused) this.healthy();
    });
    hls.on(Hls.Events.MEDIA_ATTACHED, (_event, { media }) => this.offerNativeSource(media));
    // A playlist loaded, not merely chosen (LEVEL_SWITCHED): its origin answers. A handover's
    // new instance counts once it is the one heard (its live playlist reloads soon after).
    hls.on(Hls.Events.LEVEL_LOADED, (_event, { levelInfo, details }) => {
      if (hls === this.hls) this.loadedFrom(levelInfo?.uri ?? levelInfo?.url ?? details?.url);
    });
    return hls;
  }

  // "origin" when the media playlist comes from another folder than the last one: on each
  // failover between redundant origins, not on each reload or change of rung.
  loadedFrom(url) {
    if (typeof url !== "string" || !url) return;
    const path = url.split(/[?#]/)[0];
    const folder = path.slice(0, path.lastIndexOf("/") + 1);
    if (folder === this.origin) return;
    this.origin = folder;
    this.emit("origin", url);
  }

  // Play `level`, of another codec family than the one playing, where the engine cannot
  // change codec in one MediaSource: a handover while the music plays (see handover.js),
  // otherwise a fresh pipeline (the quality controller starts it on the chosen level).
  // Resolves true once `level` is what the listener hears.
  async changeFamily(level) {
    if (this.handing || !this.hls || this.inOutage()) return false; // recovery comes first
    if (performance.now() < this.handoverRetryAt) return false; // the last one failed just now
    if (!this.playing) { // nothing heard yet or paused: nothing to hand over
      this.rebuild();
      return true;
    }
    this.handing = true;
    const began = performance.now();
    const from = { hls: this.hls, element: this.slot.element };
    const volume = from.element.volume;
    try {
      // Paused or rebuilt meanwhile: keep what is there (checked again before the crossfade).
      const current = () => this.hls === from.hls && this.wanted;
      const config = this.startBehind(from.hls);
      const next = await handOver(this.slot, from, this.spare, level, this.url,
        (start) => this.newHls({ ...config, startLevel: start }), current);
      const old = this.slot.swap(next.element);
      retire(this.slot, old, volume);
      this.spare = old;
      this.hls = next.hls;
      withdrawNativeSource(old);
      from.hls.destroy();
      this.emit("hls", next.hls);
      this.emitState("playing");
      this.handoverFailures = 0;
      // One line per handover, for whoever looks at the console (and the tests and bench).
      console.info(`Handed over to level ${level} in ${Math.round(performance.now() - began)} ms, `
        + `crossfaded ${Math.round(next.gap)} ms apart`);
      return true;
    } catch (err) {
      if (this.hls !== from.hls || !this.wanted) return false;
      // The old element plays on; the quality controller tries again, backing off.
      console.info(`Handover to level ${level} abandoned after ${Math.round(performance.now() - began)} ms: `
        + `${err?.message ?? err}`);
      this.handoverFailures += 1;
      this.handoverRetryAt = performance.now() + backoff(this.handoverFailures, 2000, RETRY_CAP_MS);
      return false;
    } finally {
      this.handing = false;
    }
  }

  // hls.js settings starting a new instance a little behind what `hls` plays, never ahead:
  // the handover then aligns by seeking forwards into what it has buffered. A seek back
  // before the first fragment it loaded lands in no buffer (hls.js skips the hole forwards
  // again), and the old element, slowed by stalls (WebKitGTK), is often behind hls.js's start.
  startBehind(hls) {
    const segment = hls.levels?.[hls.currentLevel]?.details?.targetduration;
    const count = Math.ceil(hls.latency / segment + 0.25);
    if (!Number.isFinite(count) || count <= LIVE_SYNC_SEGMENTS) return {};
    return { liveSyncDurationCount: count,
      liveMaxLatencyDurationCount: Math.max(MAX_LATENCY_SEGMENTS, count + 3) };
  }

  // After hls.js's own <source> (it replaces the element's sources when it attaches): the
  // element plays the first, AirPlay takes the HLS one.
  offerNativeSource(element) {
    withdrawNativeSource(element);
    const source = document.createElement("source");
    source.type = HLS_TYPE;
    source.src = this.nativeUrl;
    element.append(source);
    element.disableRemotePlayback = false;
  }

  destroyHls() {
    if (this.hls) {
      if (this.hls.media) withdrawNativeSource(this.hls.media);
      this.hls.destroy();
      this.hls = null;
    }
  }

  get playing() {
    return this.wanted && !this.audio.paused;
  }

  async play() {
    const live = this.resumesAtLive();
    this.paused = null;
    this.wanted = true;
    // Here, within the listener's gesture, so that a handover may later be heard in WebKit.
    if (this.useHls && !this.handing) unlock(this.spare);
    // A fresh press answers "Press play…"; an outage in progress keeps its message.
    if (!this.inOutage()) this.status("", "info");
    this.lastProgressAt = performance.now();
    if (this.useHls) {
      if (live && this.hls?.media) {
        // hls.js would carry on from the old position: start a fresh pipeline at the live edge.
        this.destroyHls();
      }
      if (!this.hls) this.createHls();
      this.hls.startLoad(-1);
    } else if (!this.audio.src) {
      this.audio.src = this.nativeUrl;
    } else if (live) {
      this.seekLive();
    }
    this.emitState("play");
    await this.playMedia();
  }

  // The resume rule (see the top of this file).
  resumesAtLive() {
    if (!this.paused) return false;
    return performance.now() - this.paused.at > this.paused.ahead;
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
    if (this.wanted && !this.paused) this.paused = { at: performance.now(), ahead: this.position.bufferedAhead() };
    this.wanted = false;
    this.audio.pause();
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    this.emitState("pause");
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

  // At volume 0 the player is as good as muted: unmuting brings back the last audible volume.
  toggleMute() {
    if (this.audio.muted || this.audio.volume === 0) {
      if (this.audio.volume === 0) this.audio.volume = this.volumes.lastAudible();
      this.audio.muted = false;
    } else {
      this.audio.muted = true;
    }
  }

  // Where the listener is in the live stream (see position.js), for the rest of the page.
  playingDate() {
    return this.position.playingDate();
  }

  latency() {
    return this.position.latency();
  }

  // The program-date-time Play would start at (ms), for showing while paused the track the
  // listener will hear on pressing it: where paused if the pause is short (the resume
  // rule), otherwise live, at a latency rather over- than underestimated, so that the
  // title can only move forwards when the audio starts.
  resumeDate() {
    if (this.paused && !this.resumesAtLive()) return this.position.playingDate();
    return this.clock.now() - this.position.expectedLatency() * 1000;
  }

  goLive() {
    this.seekLive();
    if (!this.wanted) this.play();
  }

  seekLive() {
    if (this.hls?.liveSyncPosition) {
      this.audio.currentTime = this.hls.liveSyncPosition;
    } else if (this.audio.seekable.length) {
      this.audio.currentTime = Math.max(0, this.audio.seekable.end(this.audio.seekable.length - 1) - 6);
    }
  }

  status(text, kind, ttl = 0) {
    this.emit("status", { text, kind, ttl });
  }

  emitState(type) {
    if (!this.audio.paused && this.playingSince === null) this.playingSince = performance.now();
    if (this.audio.paused) this.playingSince = null;
    this.emit("state", { type, ...this.snapshot() });
  }

  // What the player bar shows: whether the listener wants sound, the connection ("live",
  // "offline", "reconnecting") and the live position, known only while the audio flows.
  snapshot() {
    const connection = this.connection();
    const flowing = connection === "live" && !this.audio.paused;
    const behind = flowing && this.position.behindLive();
    return { wanted: this.wanted, paused: this.audio.paused, connection, latency: flowing ? this.position.latency() : null, behind };
  }

  connection() {
    if (!this.wanted) return "live";
    if (navigator.onLine === false) return "offline";
    return this.inOutage() ? "reconnecting" : "live";
  }

  inOutage() {
    return this.retryTimer !== null || this.attempt > 0;
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
    const wait = backoff(this.attempt, 1000, RETRY_CAP_MS);
    if (navigator.onLine === false) {
      this.status(OFFLINE, "warn");
    } else {
      const what = kind === "network" ? "Connection to the station lost" : "Playback interrupted";
      this.status(`${what}. Reconnecting in ${Math.ceil(wait / 1000)} s…`, "warn");
    }
    this.retryTimer = setTimeout(() => this.retryNow(action), wait);
  }

  // Retry at once (the network is back, the page is shown again): the backoff starts afresh,
  // but still as an outage, so that progress says "Back on air".
  retrySoon() {
    this.attempt = 1;
    this.retryNow(() => this.rebuild());
  }

  retryNow(action) {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (navigator.onLine !== false) this.status("Reconnecting…", "info");
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
      const src = this.nativeUrl;
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
