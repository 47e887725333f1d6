// The now-playing panel: the track on show, its cover and badges (the stream quality heard
// is views/quality.js's), and the announcement of a new track for screen readers.
import { $, el, setText } from "../dom.js";
import { formatSource, titleWithYear } from "./format.js";

// `coverSrc`: the cover fetched for this very track, or null: then the station's logo, never
// another track's cover.
export function renderTrack(track, coverSrc) {
  $("track-artist").textContent = track.artist || "Unknown artist";
  $("track-title").textContent = titleWithYear(track) || "Untitled";
  $("track-album").textContent = track.album || "";
  $("source-quality").textContent = formatSource(track) || "–";
  const live = track.dj != null && (track.dj ? `Live: ${track.dj}` : "Live");
  const badges = [live, track.isNew && "New", track.isSummer && "Summer", track.isVidgames && "Video games"].filter(Boolean);
  const box = $("track-badges");
  box.replaceChildren(...badges.map((text) => el("span", { className: "badge", text })));
  box.hidden = badges.length === 0;
  const cover = $("cover");
  cover.dataset.placeholder ??= cover.getAttribute("src"); // the logo the page starts with
  const src = coverSrc ?? cover.dataset.placeholder;
  if (cover.getAttribute("src") !== src) cover.src = src;
  cover.alt = track.album ? `Cover of ${track.album} by ${track.artist}` : `Cover art for ${track.title} by ${track.artist}`;
}

export function announce(track) {
  $("announcer").textContent = `Now playing: ${track.title} by ${track.artist}`;
}

// "N listening" beside the player (audience.js), nothing while unknown.
export function renderListeners(count) {
  setText($("listeners"), typeof count === "number" ? `${count} listening` : "");
}
