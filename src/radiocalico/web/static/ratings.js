// Thumbs up/down: counts for the shown tracks in one batched request, optimistic votes
// rolled back (with a message) when the server says no.
import { api } from "./api.js";

export class Ratings {
  constructor({ onUpdate, onError }) {
    this.counts = new Map(); // song id -> {up, down, my_vote}
    this.onUpdate = onUpdate;
    this.onError = onError;
    this.pending = new Set();
  }

  get(songId) {
    return this.counts.get(songId) ?? { up: 0, down: 0, my_vote: null };
  }

  // Counts for up to 20 songs in one request.
  async refresh(songIds) {
    const ids = [...new Set(songIds.filter(Boolean))].slice(0, 20);
    if (!ids.length) return;
    try {
      const data = await api("GET", `/api/ratings?ids=${ids.join(",")}`);
      const list = Array.isArray(data) ? data : data?.ratings ?? data?.songs ?? Object.values(data ?? {});
      for (const item of list) {
        if (item?.song_id && !this.pending.has(item.song_id)) this.counts.set(item.song_id, item);
      }
      this.onUpdate();
    } catch {
      // Counts are decoration: keep the last known ones and try on the next change.
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
    this.onUpdate();
    try {
      const data = retract
        ? await api("DELETE", `/api/ratings/${id}/vote`)
        : await api("PUT", `/api/ratings/${id}/vote`, {
          value, artist: track.artist, title: track.title, album: track.album ?? "",
        });
      this.counts.set(id, data?.song_id ? data : after);
    } catch (err) {
      this.counts.set(id, before);
      const what = `${track.artist} – ${track.title}`;
      this.onError(err.status === 429
        ? "You are voting very fast. Please wait a moment and try again."
        : `Your vote on “${what}” was not saved: ${err.message}`);
    } finally {
      this.pending.delete(id);
      this.onUpdate();
    }
  }
}
