// The stable song id, the same rule as radiocalico.songs.song_id (see README, "Song id"):
// the first 32 hex digits of SHA-256 over normalise(artist) + "\n" + normalise(title).

// Python's str.isspace() set, which `re` \s and str.strip() use for str patterns. JavaScript's
// \s and trim() differ (they include U+FEFF, exclude U+001C..U+001F and U+0085), so the class
// is spelt out here.
const SPACE = "\\t\\n\\v\\f\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const RUNS = new RegExp(`[${SPACE}]+`, "gu");
const EDGES = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, "gu");

// Unicode's default-ignorable code points, the ranges songs.py strips (spelt out rather than
// \p{Default_Ignorable_Code_Point}, so that a browser's Unicode version cannot differ).
const INVISIBLE = /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}]/gu;

export function normalise(text) {
  return String(text ?? "").replace(INVISIBLE, "").normalize("NFKC").toLowerCase().replace(RUNS, " ").replace(EDGES, "");
}

export async function sha256Hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function songId(artist, title) {
  return (await sha256Hex(`${normalise(artist)}\n${normalise(title)}`)).slice(0, 32);
}
