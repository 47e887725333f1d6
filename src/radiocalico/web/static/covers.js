// Cover art for the track shown, which is often a track behind the station's newest. Our
// station publishes every track's cover under its version, covers/<cover_version>.jpg beside
// cover.jpg, never changed once written (cached for good), and the version is
// `<song_id>-<started_at in Unix ms>` (see radiocalico.station.publisher), so the cover of
// any track the metadata lists can be named: the page and the lock screen ask for the cover
// of the track actually heard. The public CDN has cover.jpg only (its metadata has no
// cover_version, and the page estimates start times itself): there the newest cover is
// linked with the track's song id to defeat caches.

const KEEP = 10;

export class Covers {
  constructor(url) {
    this.follow(url);
    this.preloaded = new Map(); // URL -> Image, oldest first: decoded, ready to show
    this.versioned = false; // whether the metadata names versioned covers
  }

  // Name covers on the origin of `url` (cover.jpg) from now on: the origin playing changed
  // (origin.js). Covers already shown stay as loaded.
  follow(url) {
    this.url = new URL(url, location.href);
  }

  // The URL of this very track's cover, or null when there is nothing to ask for.
  src(track) {
    const named = this.versioned && track.songId && Number.isFinite(track.start);
    const version = track.coverVersion || (named ? `${track.songId}-${track.start}` : "");
    if (version) return new URL(`covers/${encodeURIComponent(version)}.jpg`, this.url).href;
    const token = track.songId;
    if (!token) return null;
    const fallback = new URL(this.url);
    fallback.searchParams.set("v", token);
    return fallback.href;
  }

  // The operating system fetches artwork itself: the same URL.
  artworkUrl(track) {
    return this.src(track);
  }

  // Load the newest track's cover ahead, so that it shows at once when its track does.
  async fetchCurrent(track) {
    this.versioned = Boolean(track.coverVersion);
    const url = this.src(track);
    if (!url || this.preloaded.has(url)) return;
    const image = new Image();
    image.src = url;
    this.preloaded.set(url, image);
    while (this.preloaded.size > KEEP) this.preloaded.delete(this.preloaded.keys().next().value);
    try {
      await image.decode();
    } catch { /* the page shows whatever the browser gets */ }
  }
}
