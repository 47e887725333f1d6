// metadatav2.json: fetch it with conditional requests, back off on failures, and turn it
// into a list of tracks (newest first), each with its song id (computed here when the
// metadata does not carry one, as on the public CDN).
import { backoff } from "./backoff.js";
import { Emitter } from "./events.js";
import { songId } from "./songid.js";

const HISTORY = 5;
const BASE_POLL_MS = 10000;

// While playing, a new track is audible one live latency after it is published: poll at
// half the latency (at least every 10 s, at most every second) so the page learns of it
// in time to switch the display on the beat. Requests are conditional, mostly 304s.
export function pollInterval(playback) {
  return () => {
    const latency = playback.playing ? playback.latency() : null;
    if (latency === null || document.visibilityState !== "visible") return BASE_POLL_MS;
    return Math.min(BASE_POLL_MS, Math.max(1000, latency * 500));
  };
}

function parseTime(value) {
  if (value === undefined || value === null || value === "") return null;
  const ms = typeof value === "number" ? value * 1000 : Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

function track(artist, title, extra = {}) {
  return { artist: artist ?? "", title: title ?? "", album: "", year: "", songId: "", start: null, ...extra };
}

// Our station's fields (started_at, song_id, cover_version, stream_*) are optional: the public
// CDN publishes only artist/title/album/date/bit_depth/sample_rate/prev_*.
export function parseMetadata(meta) {
  const current = track(meta.artist, meta.title, {
    album: meta.album ?? "",
    year: meta.date ? String(meta.date).slice(0, 4) : "",
    bitDepth: Number(meta.bit_depth) || null,
    sampleRate: Number(meta.sample_rate) || null,
    sourceCodec: typeof meta.source_codec === "string" ? meta.source_codec : "",
    channels: Number(meta.source_channels) || null,
    gainDb: Number(meta.loudness?.gain_db) || 0,
    songId: meta.song_id ?? "",
    start: parseTime(meta.started_at),
    coverVersion: meta.cover_version ?? "",
    isNew: Boolean(meta.is_new),
    isSummer: Boolean(meta.is_summer),
    isVidgames: Boolean(meta.is_vidgames),
    // A DJ's live show (our station's `live` and `dj`): the page marks it.
    dj: meta.live === true ? String(meta.dj ?? "") : null,
    current: true,
  });
  const tracks = [current];
  for (let i = 1; i <= HISTORY; i += 1) {
    const artist = meta[`prev_artist_${i}`];
    const title = meta[`prev_title_${i}`];
    if (!artist && !title) continue;
    const date = meta[`prev_date_${i}`]; // our station's; the public CDN has none of these
    tracks.push(track(artist, title, {
      album: meta[`prev_album_${i}`] ?? "",
      year: date ? String(date).slice(0, 4) : "",
      bitDepth: Number(meta[`prev_bit_depth_${i}`]) || null,
      sampleRate: Number(meta[`prev_sample_rate_${i}`]) || null,
      sourceCodec: meta[`prev_source_codec_${i}`] ?? "",
      channels: Number(meta[`prev_source_channels_${i}`]) || null,
      gainDb: Number(meta[`prev_gain_db_${i}`]) || 0,
      songId: meta[`prev_song_id_${i}`] ?? "",
      start: parseTime(meta[`prev_started_at_${i}`]),
    }));
  }
  const stream = meta.stream_codec
    ? { codec: meta.stream_codec, sampleRate: meta.stream_sample_rate, bitDepth: meta.stream_bit_depth }
    : null;
  // The quality ladder, best first (our station only; see ladder.js).
  const renditions = Array.isArray(meta.renditions) ? meta.renditions : null;
  return { tracks, stream, renditions, timed: current.start !== null };
}

async function withSongIds(parsed) {
  await Promise.all(parsed.tracks.map(async (t) => {
    if (!t.songId) t.songId = await songId(t.artist, t.title);
  }));
  return parsed;
}

// Events: "data" (each new version, parsed), "error" ({error, failures}: each failed poll),
// "recover" (a poll succeeded after failures).
export class MetadataPoller extends Emitter {
  // `interval()` says how long to wait between polls (ms) while polls succeed; every
  // answer's Date header goes to `clock.observe()` (see clock.js).
  constructor(url, { interval, clock = null }) {
    super();
    this.clock = clock;
    this.setUrl(url);
    this.interval = interval;
    this.etag = null;
    this.lastModified = null;
    this.body = null;
    this.failures = 0;
    this.timer = null;
    this.inflight = null;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.pollNow();
    });
    window.addEventListener("online", () => this.pollNow());
  }

  start() {
    this.pollNow();
  }

  // Poll `url` from now on (the origin playing changed, see origin.js), at once: the last
  // version seen elsewhere may be stale here. Its validators were the other origin's; the
  // body is kept, so that the same version is not announced twice.
  follow(url) {
    if (url === this.url) return;
    this.setUrl(url);
    this.etag = null;
    this.lastModified = null;
    if (this.inflight) this.inflight.then(() => this.pollNow());
    else if (this.lastPoll !== undefined) this.pollNow();
  }

  setUrl(url) {
    this.url = url;
    this.sameOrigin = new URL(url, location.href).origin === location.origin;
  }

  pollNow() {
    if (this.inflight) return this.inflight;
    clearTimeout(this.timer);
    this.inflight = this.fetchOnce().finally(() => {
      this.inflight = null;
      this.schedule();
    });
    return this.inflight;
  }

  // Reschedule sooner when the wanted interval shrinks (playback started, latency known).
  reschedule() {
    if (this.inflight) return;
    const due = this.lastPoll + this.delay();
    if (this.nextAt && due < this.nextAt - 50) this.schedule();
  }

  delay() {
    if (this.failures > 0) return backoff(this.failures, 2000, 60000);
    return this.interval();
  }

  schedule() {
    clearTimeout(this.timer);
    const wait = Math.max(0, (this.lastPoll ?? 0) + this.delay() - performance.now());
    this.nextAt = performance.now() + wait;
    this.timer = setTimeout(() => this.pollNow(), wait);
  }

  async fetchOnce() {
    this.previousPoll = this.lastPoll ?? null;
    this.lastPoll = performance.now();
    const headers = {};
    // Same origin: send the validators ourselves and see 304s. Another origin (the public
    // CDN): let the HTTP cache revalidate (custom headers would need a CORS preflight).
    const init = { headers, credentials: "omit" };
    if (this.sameOrigin) {
      init.cache = "no-store";
      if (this.etag) headers["If-None-Match"] = this.etag;
      else if (this.lastModified) headers["If-Modified-Since"] = this.lastModified;
    } else {
      init.cache = "no-cache";
    }
    const url = this.url;
    try {
      const sent = Date.now();
      const response = await fetch(url, init);
      const received = performance.now();
      this.clock?.observe(response.headers.get("Date"), sent, Date.now());
      // The body is read even when unused: Chromium cancels a response dropped unread
      // (ERR_ABORTED on the console and in the page's network log).
      const text = await response.text();
      if (url !== this.url) return; // asked of the origin left meanwhile: follow() asks again
      if (response.status === 304) {
        this.recovered();
        return;
      }
      if (!response.ok) throw new Error(`metadata answered ${response.status}`);
      this.etag = response.headers.get("ETag");
      this.lastModified = response.headers.get("Last-Modified");
      const meta = JSON.parse(text);
      this.recovered();
      if (text === this.body) return;
      this.body = text;
      // The change happened at some moment since the previous poll: tell how long ago that was.
      const parsed = parseMetadata(meta);
      parsed.uncertaintyMs = this.previousPoll === null ? 0 : this.lastPoll - this.previousPoll;
      // When the server answered, estimated as halfway through the round trip.
      parsed.answeredAt = (this.lastPoll + received) / 2;
      withSongIds(parsed).then((p) => this.emit("data", p));
    } catch (error) {
      this.failures += 1;
      this.emit("error", { error, failures: this.failures });
    }
  }

  recovered() {
    if (this.failures > 0) {
      this.failures = 0;
      this.emit("recover");
    }
  }
}
