// Which track the listener is hearing. The station publishes a track's metadata when the
// track enters the stream, roughly one live latency before it reaches the listener's ears.
// With the station's start times (`started_at`, on the program-date-time clock) the switch
// is scheduled for the moment the playing position's program-date-time reaches the start.
// Without them (the public CDN) the switch is delayed by the measured latency: the new
// track entered the live edge at some moment between the poll before and the poll that saw
// it, so it is taken to have entered halfway between the two.
//
// While paused, the track shown is the one Play would start with (playback.resumeDate()),
// so that pressing Play never sends the title back to the track before.
//
// Events: "change" ({track, previous, changed}): the track on show and the ones before it;
// `changed` is false when only the details of the same track were refreshed.
import { Emitter } from "./events.js";

const KEEP = 12;

function identity(track) {
  return track.songId || `${track.artist}\n${track.title}`;
}

export class NowPlaying extends Emitter {
  constructor(playback) {
    super();
    this.playback = playback;
    this.known = []; // newest first
    this.shown = null;
    this.shownPrevious = []; // the tracks listed before `shown` when it was last shown
    this.timer = null;
    setInterval(() => this.tick(), 250);
    playback.audio.addEventListener("timeupdate", () => this.tick());
    playback.audio.addEventListener("seeked", () => this.tick());
  }

  // Whether the audio is playing.
  playing() {
    return this.playback.audio.readyState >= 2 && !this.playback.audio.paused;
  }

  // The program-date-time being heard, or null when nothing is playing.
  hearing() {
    return this.playing() ? this.playback.playingDate() : null;
  }

  // The program-date-time whose track is to be shown: the one heard, or the one Play
  // would start at.
  showing() {
    return this.playing() ? this.playback.playingDate() : this.playback.resumeDate();
  }

  update({ tracks, timed, uncertaintyMs = 0, answeredAt = performance.now() }) {
    if (timed) {
      const key = (t) => `${identity(t)}@${t.start}`;
      const byKey = new Map(this.known.map((t) => [key(t), t]));
      // Keep the objects already known (the current-track version carries year and album,
      // the prev_* version does not), adding what is new.
      const merged = tracks.map((t) => {
        const old = byKey.get(key(t));
        if (!old) return t;
        for (const [field, value] of Object.entries(t)) {
          if (value !== "" && value !== null && value !== undefined && value !== false) old[field] = value;
        }
        return old;
      });
      const fresh = new Set(tracks.map(key));
      const oldest = tracks.at(-1).start ?? 0;
      const older = this.known.filter((t) => !fresh.has(key(t)) && (t.start ?? 0) < oldest);
      this.known = [...merged, ...older].slice(0, KEEP);
    } else {
      const newest = this.known[0];
      const current = tracks[0];
      if (!newest || identity(newest) !== identity(current)) {
        // A change (not the first track seen) entered the live edge halfway between this
        // poll's answer and the previous one, on this page's clock; resolveStarts() turns
        // that into a start on the program-date-time clock once playback knows its latency.
        current.start = null;
        if (newest) current.enteredAt = answeredAt - uncertaintyMs / 2;
        const rest = tracks.slice(1).map((t) => ({ ...t, start: null }));
        const keptStarts = new Map(this.known.map((t) => [identity(t), t.start]));
        for (const t of rest) t.start = keptStarts.get(identity(t)) ?? null;
        this.known = [current, ...rest].slice(0, KEEP);
      } else {
        Object.assign(newest, { ...current, start: newest.start });
        if (newest === this.shown) this.show(newest, false);
      }
    }
    this.tick();
  }

  // A track that entered the live edge is heard one latency later. Until the latency is
  // known (playback starting) such a track counts as not started yet.
  resolveStarts(heard) {
    const latency = this.playback.latency();
    if (heard === null || latency === null) return;
    for (const t of this.known) {
      if (t.enteredAt === undefined) continue;
      t.start = heard + Math.max(0, latency * 1000 - (performance.now() - t.enteredAt));
      delete t.enteredAt;
    }
  }

  select(heard) {
    if (heard === null) return this.known[0] ?? null;
    const started = (t) => t.enteredAt === undefined && (t.start === null || t.start <= heard);
    return this.known.find(started) ?? this.known.at(-1) ?? null;
  }

  previous(track) {
    const i = this.known.indexOf(track);
    return this.known.slice(i + 1, i + 6);
  }

  tick() {
    const heard = this.hearing();
    this.resolveStarts(heard);
    const track = this.select(this.showing());
    if (track && track !== this.shown) {
      const changed = !this.shown || identity(this.shown) !== identity(track) || this.shown.start !== track.start;
      this.show(track, changed);
    }
    this.scheduleNext(heard);
  }

  show(track, changed) {
    this.shown = track;
    this.shownPrevious = this.previous(track);
    this.emit("change", { track, previous: this.shownPrevious, changed });
  }

  // The song ids on show, newest first.
  shownSongIds() {
    return this.shown ? [this.shown, ...this.shownPrevious].map((t) => t.songId) : [];
  }

  // A timer for the exact moment of the next switch, so that it does not wait for a tick.
  scheduleNext(heard) {
    clearTimeout(this.timer);
    this.timer = null;
    if (heard === null) return;
    const upcoming = this.known.filter((t) => t.start !== null && t.start > heard);
    if (!upcoming.length) return;
    const next = Math.min(...upcoming.map((t) => t.start));
    const wait = (next - heard) / (this.playback.audio.playbackRate || 1);
    if (wait < 1000) this.timer = setTimeout(() => this.tick(), Math.max(0, wait));
  }

  // Seconds into the track being heard, or null when unknown.
  elapsed() {
    const heard = this.hearing();
    if (heard === null || !this.shown || this.shown.start === null) return null;
    return Math.max(0, (heard - this.shown.start) / 1000);
  }
}
