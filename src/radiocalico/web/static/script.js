// The RadioCalico player: wires config, playback, now playing, ratings and the account.
import { Account } from "./account.js";
import { api, onSessionChange } from "./api.js";
import { backoff } from "./backoff.js";
import { Playback } from "./audio.js";
import { MetadataPoller } from "./metadata.js";
import { NowPlaying } from "./nowplaying.js";
import { bindKeys, bindMediaSession, updateMediaSession } from "./os.js";
import { Ratings } from "./ratings.js";
import { songId } from "./songid.js";
import {
  announce, formatTime, renderHistory, renderRating, renderStreamQuality, renderTrack, setStatus, thumbButton,
} from "./ui.js";

const $ = (id) => document.getElementById(id);
const BASE_POLL_MS = 10000;

async function loadConfig() {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await api("GET", "/api/config");
    } catch {
      const wait = backoff(attempt + 1);
      setStatus(`Cannot reach Radio Calico. Trying again in ${Math.round(wait / 1000)} s…`, "warn");
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

// Cover art, fetched once per track while that track is the station's current one, and kept
// as blob URLs: the cover on the server is always the station's newest, which can be a track
// ahead of the one being heard.
class Covers {
  constructor(url) {
    this.url = url;
    this.sameOrigin = new URL(url, location.href).origin === location.origin;
    this.blobs = new Map();
  }

  src(track) {
    const token = track.coverVersion || track.songId;
    if (!token) return null;
    if (!this.sameOrigin) return `${this.url}?v=${encodeURIComponent(token)}`;
    return this.blobs.get(token) ?? null;
  }

  async fetchCurrent(track) {
    const token = track.coverVersion || track.songId;
    if (!this.sameOrigin || !token || this.blobs.has(token)) return;
    try {
      const response = await fetch(`${this.url}?v=${encodeURIComponent(token)}`);
      if (!response.ok) return;
      this.blobs.set(token, URL.createObjectURL(await response.blob()));
      while (this.blobs.size > 10) {
        const [oldest, blobUrl] = this.blobs.entries().next().value;
        URL.revokeObjectURL(blobUrl);
        this.blobs.delete(oldest);
      }
    } catch { /* keep whatever cover is shown */ }
  }

  artworkUrl(track) {
    const token = track.coverVersion || track.songId;
    return token ? `${this.url}?v=${encodeURIComponent(token)}` : null;
  }
}

async function main() {
  const account = new Account();
  const audio = $("audio");
  const config = await loadConfig();
  setStatus("");
  const covers = new Covers(config.cover_url);

  const playback = new Playback(audio, config.stream_url, {
    onStatus: (text, kind, ttl) => setStatus(text, kind, ttl, "playback"),
    onState: () => renderPlayer(),
  });

  let shown = null;
  let shownPrevious = [];
  const ratings = new Ratings({
    onUpdate: () => renderRatings(),
    onError: (message) => setStatus(message, "error", 8000),
  });

  const currentGroup = $("current-rating");
  for (const button of currentGroup.querySelectorAll(".thumb")) {
    button.addEventListener("click", () => shown && ratings.vote(shown, button.dataset.vote));
  }

  function ratingGroup(track) {
    const group = document.createElement("div");
    group.className = "rating rating--small";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", `Rate ${track.title} by ${track.artist}`);
    group.dataset.songId = track.songId;
    for (const kind of ["up", "down"]) {
      const button = thumbButton(kind);
      button.addEventListener("click", () => ratings.vote(track, kind));
      group.append(button);
    }
    renderRating(group, track, ratings.get(track.songId), ratings.pending.has(track.songId));
    return group;
  }

  function renderRatings() {
    renderRating(currentGroup, shown, shown ? ratings.get(shown.songId) : {}, shown && ratings.pending.has(shown.songId));
    const groups = $("history-list").querySelectorAll(".rating");
    groups.forEach((group, i) => {
      const track = shownPrevious[i];
      if (track) renderRating(group, track, ratings.get(track.songId), ratings.pending.has(track.songId));
    });
  }

  const nowPlaying = new NowPlaying(playback, {
    onChange(track, previous, changed) {
      shown = track;
      shownPrevious = previous;
      renderTrack(track, covers.src(track));
      renderHistory(previous, ratingGroup);
      renderRatings();
      ratings.refresh([track, ...previous].map((t) => t.songId));
      updateMediaSession(track, covers.artworkUrl(track));
      if (changed) announce(`Now playing: ${track.title} by ${track.artist}`);
    },
  });
  onSessionChange(() => {
    if (shown) ratings.refresh([shown, ...shownPrevious].map((t) => t.songId));
  });

  // While playing, a new track is audible one live latency after it is published: poll at
  // half the latency (at least every 10 s, at most every second) so the page learns of it
  // in time to switch the display on the beat. Requests are conditional, mostly 304s.
  const poller = new MetadataPoller(config.metadata_url, {
    interval() {
      const latency = playback.playing ? playback.latency() : null;
      if (latency === null || document.visibilityState !== "visible") return BASE_POLL_MS;
      return Math.min(BASE_POLL_MS, Math.max(1000, latency * 500));
    },
    async onData(parsed) {
      await Promise.all(parsed.tracks.map(async (t) => {
        if (!t.songId) t.songId = await songId(t.artist, t.title);
      }));
      await covers.fetchCurrent(parsed.tracks[0]);
      renderStreamQuality(parsed.stream);
      nowPlaying.update(parsed);
    },
    onError(_err, failures) {
      if (failures >= 2) setStatus("Track information is delayed; showing the last known track.", "info", 0, "metadata");
    },
    onRecover() {
      setStatus("", "info", 0, "metadata");
    },
  });
  poller.start();

  // -- the player bar --------------------------------------------------------------------
  const playButton = $("play");
  const muteButton = $("mute");
  const volume = $("volume");
  playButton.addEventListener("click", () => playback.toggle());
  muteButton.addEventListener("click", () => playback.toggleMute());
  volume.addEventListener("input", () => playback.setVolume(Number(volume.value) / 100));
  $("go-live").addEventListener("click", () => playback.goLive());
  audio.addEventListener("volumechange", renderVolume);

  function renderVolume() {
    const value = audio.muted ? 0 : Math.round(audio.volume * 100);
    volume.value = String(value);
    volume.style.setProperty("--fill", `${value}%`);
    volume.setAttribute("aria-valuetext", audio.muted ? "Muted" : `${value}%`);
    muteButton.setAttribute("aria-pressed", String(audio.muted));
    muteButton.setAttribute("aria-label", audio.muted ? "Unmute" : "Mute");
    document.body.classList.toggle("is-muted", audio.muted || audio.volume === 0);
  }

  let playingSince = null;
  function renderPlayer() {
    const playing = playback.wanted;
    document.body.classList.toggle("is-playing", playing);
    playButton.setAttribute("aria-label", playing ? "Pause" : "Play");
    if (!audio.paused && playingSince === null) playingSince = performance.now();
    if (audio.paused) playingSince = null;
    poller.reschedule();
  }

  function renderClock() {
    const elapsed = nowPlaying.elapsed() ?? (playingSince !== null ? (performance.now() - playingSince) / 1000 : 0);
    $("elapsed").textContent = formatTime(elapsed);
    const latency = playback.latency();
    const behind = !audio.paused && playback.behindLive();
    $("live-label").textContent = behind ? "Delayed" : "Live";
    $("go-live").hidden = !behind;
    $("latency").textContent = latency !== null && !audio.paused
      ? `Live latency ${latency.toFixed(1)} s${behind ? " (behind live)" : ""}`
      : "";
  }

  setInterval(renderClock, 250);
  renderVolume();
  renderPlayer();
  bindMediaSession(playback);
  bindKeys(playback);
  playback.prepare();
  account.restore();
  document.body.dataset.ready = "true";
}

main().catch(() => setStatus("Something went wrong. Please reload the page.", "error"));
