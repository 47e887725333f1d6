// With redundant origins (STATION_ORIGINS) the master lists each rendition once per origin
// and hls.js moves to another origin when the one it plays from stops (ladder.js). The
// metadata and the cover, configured on one origin (/api/config), must move with it: a
// stopped station's files stay served, unchanged, so its metadatav2.json would keep
// answering 304 and the title and cover would freeze on its last track, no error ever.
//
// Our station's layout (radiocalico/stream_layout.py) puts every playlist in the hls/
// folder of the stream's base and the metadata and cover beside that folder: the origin of
// a level `<origin>hls/live_high.m3u8` serves `<origin>metadatav2.json` and
// `<origin>cover.jpg`. The public CDN's media playlists lie deeper (hls/flac/playlist.m3u8)
// and anything else may differ too: there the configured URLs are kept. A pure function,
// so that it can be tested without a stream.

// The stream base of a playlist lying directly in an hls/ folder (the folder above it, with
// its trailing slash), or null when the URL is not laid out so.
function streamBase(url, page) {
  let parsed;
  try {
    parsed = new URL(url, page);
  } catch {
    return null;
  }
  parsed.search = "";
  parsed.hash = "";
  const folder = new URL("./", parsed);
  if (!folder.pathname.endsWith("/hls/")) return null;
  return new URL("../", folder).href;
}

// `url` (the configured metadata or cover URL) as served by the origin of `level` (the URL
// of the media playlist hls.js loads), when `url` lies under the same stream base as
// `master` (the configured master playlist) and both playlists follow our layout; `url`
// itself, unchanged, otherwise (and on the master's own origin).
export function onOrigin(url, master, level, page = location.href) {
  const from = streamBase(master, page);
  const to = level ? streamBase(level, page) : null;
  if (!from || !to || from === to) return url;
  let absolute;
  try {
    absolute = new URL(url, page).href;
  } catch {
    return url;
  }
  if (!absolute.startsWith(from)) return url;
  return to + absolute.slice(from.length);
}
