// Every API operation the player calls, and exactly which fields it sends and reads.
// The client reads responses through `read()`, so a field not declared here is never seen
// by the page; tests/web/test_api_operations.py checks every declared field against the
// schema /api/openapi.json gives for that operation, so a renamed field fails a test
// instead of quietly reading `undefined`.
//
// A read shape is `true` (a value used as it is), an object (these fields, each with its
// own shape) or a one-element array (a list whose items have that shape).

const RATING = { song_id: true, up: true, down: true, my_vote: true };
const PLAY = {
  id: true, song_id: true, started_at: true, artist: true, title: true, album: true, year: true,
  cover_url: true, up: true, down: true,
};
const CHART = {
  songs: [{ rank: true, song_id: true, artist: true, title: true, album: true, up: true,
    down: true, net: true, plays: true, cover_url: true }],
};
const SESSION = { user: { username: true, email: true, display_name: true }, csrf_token: true };

// `status`: the documented success status; `listener`: sends the anonymous listener's
// fingerprint (the operation counts votes per listener).
export const OPERATIONS = {
  config: {
    method: "GET", path: "/api/config", status: 200,
    reads: { stream_url: true, native_stream_url: true, metadata_url: true, cover_url: true },
  },
  // The anonymous listener's token (a cookie; see listener-token.js for when it is asked).
  listenerToken: {
    method: "GET", path: "/api/listener", status: 200,
    reads: { votes_count_in_seconds: true },
  },
  // The same answer for everyone (no fingerprint, no vote): shared caches answer the
  // crowd that asks at every track change.
  counts: {
    method: "GET", path: "/api/ratings/counts", status: 200,
    reads: { counts: [{ song_id: true, up: true, down: true }] },
  },
  myVotes: {
    method: "GET", path: "/api/ratings/mine", status: 200, listener: true,
    reads: { votes: [{ song_id: true, value: true }] },
  },
  vote: {
    method: "PUT", path: "/api/ratings/{song_id}/vote", status: 200, listener: true,
    sends: ["value", "artist", "title", "album"], reads: RATING,
  },
  retract: {
    method: "DELETE", path: "/api/ratings/{song_id}/vote", status: 200, listener: true,
    reads: RATING,
  },
  signUp: {
    method: "POST", path: "/api/users", status: 201,
    sends: ["username", "email", "password", "display_name"], reads: { message: true },
  },
  signIn: {
    method: "POST", path: "/api/users/session", status: 200,
    sends: ["login", "password"], reads: SESSION,
  },
  signOut: { method: "DELETE", path: "/api/users/session", status: 204, reads: null },
  me: { method: "GET", path: "/api/users/me", status: 200, reads: SESSION },
  likes: {
    method: "GET", path: "/api/users/me/likes", status: 200,
    reads: { songs: [{ artist: true, title: true }] },
  },
  nowPlaying: {
    method: "GET", path: "/api/now-playing", status: 200, reads: { listeners: true },
  },
  history: {
    method: "GET", path: "/api/history", status: 200,
    reads: { plays: [PLAY], next_cursor: true },
  },
  topRated: { method: "GET", path: "/api/charts/top-rated", status: 200, reads: CHART },
  mostPlayed: { method: "GET", path: "/api/charts/most-played", status: 200, reads: CHART },
  myLikes: {
    method: "GET", path: "/api/likes", status: 200, listener: true,
    reads: { songs: [{ song_id: true, artist: true, title: true, album: true, liked_at: true,
      cover_url: true }], next_cursor: true },
  },
  deleteAccount: {
    method: "DELETE", path: "/api/users/me", status: 204, sends: ["password"], reads: null,
  },
};

// What the page reads of an error answer (the documented ErrorResponse).
export const ERROR_READS = { error: { code: true, message: true, fields: [{ field: true, message: true }] } };

// `data` cut down to `shape`: only the declared fields survive.
export function read(shape, data) {
  if (!shape) return null;
  if (shape === true || data === null || data === undefined) return data;
  if (Array.isArray(shape)) return data.map((item) => read(shape[0], item));
  return Object.fromEntries(Object.entries(shape).map(([name, inner]) => [name, read(inner, data[name])]));
}

// `body` cut down to the declared request fields.
export function only(names, body) {
  return Object.fromEntries(Object.entries(body).filter(([name]) => names.includes(name)));
}
