// The player's API calls by name (see operations.js for what each sends and reads), over
// the transport, with the session's headers.
import { OPERATIONS, only, read } from "./operations.js";
import { request } from "./transport.js";

function queryString(params) {
  const kept = Object.entries(params).filter(([, value]) => value !== undefined && value !== null && value !== "");
  return kept.length ? `?${new URLSearchParams(kept)}` : "";
}

export class ApiClient {
  constructor(session) {
    this.session = session;
  }

  async call(name, { params = {}, query = "", body } = {}) {
    const operation = OPERATIONS[name];
    const path = operation.path.replace(/\{(\w+)\}/g, (_, key) => encodeURIComponent(params[key])) + query;
    const data = await request(operation.method, path, {
      body: body === undefined ? undefined : only(operation.sends, body),
      headers: await this.session.headers(operation),
    });
    return read(operation.reads, data);
  }

  config() {
    return this.call("config");
  }

  // A listener token for voting anonymously (the server sets it as a cookie); the answer
  // says in how many seconds its votes count.
  listenerToken() {
    return this.call("listenerToken");
  }

  // Counts for up to 20 songs (the server's limit), in one request; the same answer for
  // every listener asking the same ids, so a shared cache may give it.
  counts(songIds) {
    return this.call("counts", { query: `?ids=${songIds.join(",")}` });
  }

  // My own votes (newest first), asked once, not at every track change.
  myVotes() {
    return this.call("myVotes");
  }

  vote(songId, vote) {
    return this.call("vote", { params: { song_id: songId }, body: vote });
  }

  retract(songId) {
    return this.call("retract", { params: { song_id: songId } });
  }

  signUp(account) {
    return this.call("signUp", { body: account });
  }

  signIn(credentials) {
    return this.call("signIn", { body: credentials });
  }

  signOut() {
    return this.call("signOut");
  }

  me() {
    return this.call("me");
  }

  likes() {
    return this.call("likes");
  }

  nowPlaying() {
    return this.call("nowPlaying");
  }

  // `params`: {limit, cursor, q, since, until}; empty values are left out.
  history(params = {}) {
    return this.call("history", { query: queryString(params) });
  }

  chart(name, period) {
    return this.call(name === "most-played" ? "mostPlayed" : "topRated", { query: queryString({ period }) });
  }

  myLikes(params = {}) {
    return this.call("myLikes", { query: queryString(params) });
  }

  deleteAccount(password) {
    return this.call("deleteAccount", { body: { password } });
  }
}
