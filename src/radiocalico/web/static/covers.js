// Cover art, fetched once per track while that track is the station's current one, and kept
// as blob URLs: the cover on the server is always the station's newest, which can be a track
// ahead of the one being heard. On another origin (the public CDN) the page cannot read the
// image, so it links it with the track's version instead.

const KEEP = 10;

export class Covers {
  constructor(url) {
    this.url = url;
    this.sameOrigin = new URL(url, location.href).origin === location.origin;
    this.blobs = new Map(); // version token -> blob URL, oldest first
  }

  src(track) {
    const token = track.coverVersion || track.songId;
    if (!token) return null;
    if (!this.sameOrigin) return this.versioned(token);
    return this.blobs.get(token) ?? null;
  }

  // The operating system fetches artwork itself: it gets the versioned URL.
  artworkUrl(track) {
    const token = track.coverVersion || track.songId;
    return token ? this.versioned(token) : null;
  }

  versioned(token) {
    return `${this.url}?v=${encodeURIComponent(token)}`;
  }

  async fetchCurrent(track) {
    const token = track.coverVersion || track.songId;
    if (!this.sameOrigin || !token || this.blobs.has(token)) return;
    try {
      const response = await fetch(this.versioned(token));
      if (!response.ok) return;
      this.blobs.set(token, URL.createObjectURL(await response.blob()));
      while (this.blobs.size > KEEP) {
        const [oldest, blobUrl] = this.blobs.entries().next().value;
        URL.revokeObjectURL(blobUrl);
        this.blobs.delete(oldest);
      }
    } catch { /* keep whatever cover is shown */ }
  }
}
