// Thumbs up/down: the counts of the songs on show, fetched in one batched request that is
// the same for every listener (so nginx or a CDN answers the crowd at a track change), and
// my own votes, asked once per page and identity and then kept here from my votes'
// answers; optimistic votes rolled back (with a message) when the server says no.
// An anonymous vote refused for want of a listener token gets one (listener-token.js) and
// is sent once more.
//
// Events: "change" (counts or pending votes changed: read them with view()), "error"
// (detail: the message for the listener).
import { Emitter } from "./events.js";
import { ListenerToken, NotCountable, duration } from "./listener-token.js";

const BATCH = 20; // the API's limit per request

export class Ratings extends Emitter {
  constructor(client, token = new ListenerToken(client)) {
    super();
    this.client = client;
    this.token = token;
    this.counts = new Map(); // song id -> {song_id, up, down, my_vote}
    this.mine = null; // song id -> "up" | "down": my votes, once known (a promise while asked)
    this.pending = new Set(); // song ids with a vote in flight
    this.shownIds = []; // the song ids on the page
  }

  // What a view shows for one song: its counts, my vote, and whether a vote is in flight.
  view(songId) {
    return { ...this.get(songId), busy: this.pending.has(songId) };
  }

  get(songId) {
    return this.counts.get(songId) ?? { up: 0, down: 0, my_vote: null };
  }

  // The songs on the page changed: fetch their counts.
  show(songIds) {
    this.shownIds = songIds;
    return this.refresh();
  }

  async refresh() {
    return this.load(this.shownIds.slice(0, BATCH));
  }

  // Who I am changed (signed in or out): my votes are another listener's now.
  forgetMine() {
    this.mine = null;
    return this.refresh();
  }

  // My votes, asked of the server once; until they are known a song shows none.
  async myVotes() {
    if (this.mine === null) {
      this.mine = this.client.myVotes()
        .then(({ votes }) => new Map(votes.map((v) => [v.song_id, v.value])))
        .catch(() => { this.mine = null; return new Map(); });
    }
    return this.mine;
  }

  // Counts and my vote for any songs (history, charts, likes), BATCH per request; other
  // views and the now-playing thumbs then share them.
  async load(songIds) {
    const ids = [...new Set(songIds.filter(Boolean))];
    for (let i = 0; i < ids.length; i += BATCH) {
      try {
        const [{ counts }, mine] = await Promise.all([this.client.counts(ids.slice(i, i + BATCH)), this.myVotes()]);
        for (const count of counts) {
          if (!this.pending.has(count.song_id)) {
            this.counts.set(count.song_id, { ...count, my_vote: mine.get(count.song_id) ?? null });
          }
        }
        this.emit("change");
      } catch {
        // Counts are decoration: keep the last known ones and try on the next change.
      }
    }
  }

  // Vote `value` ("up"/"down") on `track`; voting your current vote again retracts it.
  async vote(track, value) {
    const id = track.songId;
    if (!id || this.pending.has(id)) return;
    const before = { ...this.get(id) };
    const retract = before.my_vote === value;
    const after = { ...before, song_id: id };
    if (before.my_vote) after[before.my_vote] = Math.max(0, after[before.my_vote] - 1);
    if (!retract) after[value] += 1;
    after.my_vote = retract ? null : value;
    this.counts.set(id, after);
    this.pending.add(id);
    this.emit("change");
    const send = () => (retract
      ? this.client.retract(id)
      : this.client.vote(id, { value, artist: track.artist, title: track.title, album: track.album ?? "" }));
    try {
      const rating = await this.withToken(send);
      this.counts.set(id, rating);
      const mine = await this.myVotes();
      if (rating.my_vote) mine.set(id, rating.my_vote); else mine.delete(id);
    } catch (err) {
      this.counts.set(id, before);
      this.emit("error", refusal(err, track));
    } finally {
      this.pending.delete(id);
      this.emit("change");
    }
  }

  // `send()`'s answer; refused for want of a listener token, it asks for one once (the
  // address may have tokens again since the page was served) and sends once more if the
  // token counts at once. Only once: a browser that keeps no cookies would loop.
  async withToken(send) {
    try {
      return await send();
    } catch (err) {
      if (err.code !== "listener_token_required") throw err;
    }
    await this.token.renew();
    return send();
  }
}

// Why a vote was not saved, in the listener's words. The server's message is shown only
// when nothing better is known: some are written for developers ("GET /api/listener").
function refusal(err, track) {
  const what = `“${track.artist} – ${track.title}”`;
  if (err instanceof NotCountable) return err.message;
  if (err.code === "listening_too_briefly") {
    const when = err.retryAfter === null ? "in a moment" : `in ${duration(err.retryAfter)}`;
    return `Listen a little longer: your votes count ${when}.`;
  }
  // Still refused with a fresh token: the browser does not keep our cookie.
  if (err.code === "listener_token_required") {
    return `Your vote on ${what} was not saved: allow cookies for this site to vote, or sign in.`;
  }
  if (err.status === 429) return "You are voting very fast. Please wait a moment and try again.";
  return `Your vote on ${what} was not saved: ${err.message}`;
}
