// The listener's library: what played (paged, searchable, live), the charts and my likes.
// State only: views/library.js draws it.
//
// Events: "history", "chart", "likes" (detail: that part's state), "error" (a message for
// the listener).
import { Emitter } from "./events.js";

const PAGE = 30;
const RETRIES = 6;
const RETRY_MS = 2500;

// A play, chart entry or like as the ratings controller and the thumbs know a track.
export function asTrack(song) {
  return { songId: song.song_id, artist: song.artist, title: song.title, album: song.album ?? "" };
}

export class Library extends Emitter {
  constructor(client, ratings) {
    super();
    this.client = client;
    this.ratings = ratings;
    this.history = { plays: [], cursor: null, done: false, loading: false, q: "", failed: false };
    this.chart = { name: "top-rated", period: "week", songs: [], loading: false };
    this.likes = { songs: [], cursor: null, done: false, loading: false };
    this.searchSerial = 0;
  }

  // --- history ------------------------------------------------------------------------

  search(q) {
    this.history = { plays: [], cursor: null, done: false, loading: false, q: q.trim(), failed: false };
    this.searchSerial += 1;
    return this.more();
  }

  async more() {
    const h = this.history;
    if (h.loading || h.done) return;
    h.loading = true;
    const serial = this.searchSerial;
    this.emit("history", h);
    try {
      const page = await this.client.history({ limit: PAGE, cursor: h.cursor, q: h.q });
      if (serial !== this.searchSerial) return; // a newer search replaced this one
      h.plays = h.plays.concat(page.plays.filter((p) => !h.plays.some((q) => q.id === p.id)));
      h.cursor = page.next_cursor;
      h.done = !page.next_cursor;
      h.failed = false;
      this.ratings.load(page.plays.map((p) => p.song_id));
    } catch (err) {
      h.failed = true;
      this.emit("error", `The play history could not be loaded: ${err.message}`);
    } finally {
      h.loading = false;
      this.emit("history", h);
    }
  }

  // A new track (`songId`) started: fetch the newest plays and put the new ones on top.
  // The server records a start within a few seconds of its publication, so until the
  // newest play is that song, ask again a few times.
  async refreshNewest(songId = "", attempt = 0) {
    const h = this.history;
    if (!h.plays.length && !h.done) return this.more();
    try {
      const page = await this.client.history({ limit: 10, q: h.q });
      const known = new Set(h.plays.map((p) => p.id));
      const fresh = page.plays.filter((p) => !known.has(p.id));
      if (fresh.length) {
        h.plays = fresh.concat(h.plays);
        this.ratings.load(fresh.map((p) => p.song_id));
        this.emit("history", h);
      }
      if (songId && !h.q && page.plays[0]?.song_id !== songId && attempt < RETRIES) {
        setTimeout(() => this.refreshNewest(songId, attempt + 1), RETRY_MS);
      }
    } catch { /* the next track change tries again */ }
  }

  // --- charts -------------------------------------------------------------------------

  async showChart(name = this.chart.name, period = this.chart.period) {
    this.chart = { ...this.chart, name, period, loading: true };
    this.emit("chart", this.chart);
    try {
      const { songs } = await this.client.chart(name, period);
      if (this.chart.name === name && this.chart.period === period) this.chart.songs = songs;
      this.ratings.load(songs.map((s) => s.song_id));
    } catch (err) {
      this.emit("error", `The chart could not be loaded: ${err.message}`);
    } finally {
      this.chart.loading = false;
      this.emit("chart", this.chart);
    }
  }

  // --- my likes -----------------------------------------------------------------------

  async showLikes(reset = true) {
    if (reset) this.likes = { songs: [], cursor: null, done: false, loading: false };
    const l = this.likes;
    if (l.loading || l.done) return;
    l.loading = true;
    this.emit("likes", l);
    try {
      const page = await this.client.myLikes({ limit: 50, cursor: l.cursor });
      l.songs = l.songs.concat(page.songs);
      l.cursor = page.next_cursor;
      l.done = !page.next_cursor;
      this.ratings.load(page.songs.map((s) => s.song_id));
    } catch (err) {
      this.emit("error", `Your likes could not be loaded: ${err.message}`);
    } finally {
      l.loading = false;
      this.emit("likes", l);
    }
  }

  // Unlike: retract the thumbs up, then drop the song from the list.
  async unlike(song) {
    await this.ratings.vote(asTrack(song), "up");
    if (this.ratings.get(song.song_id).my_vote !== "up") {
      this.likes.songs = this.likes.songs.filter((s) => s.song_id !== song.song_id);
      this.emit("likes", this.likes);
    }
  }
}
