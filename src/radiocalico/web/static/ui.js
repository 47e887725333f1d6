// Putting things on the page. Text goes in through textContent only.
const $ = (id) => document.getElementById(id);

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function formatRate(hz) {
  if (!hz) return "";
  const k = hz / 1000;
  return `${Number.isInteger(k) ? k : k.toFixed(1)}kHz`;
}

export function titleWithYear(track) {
  return track.year ? `${track.title} (${track.year})` : track.title;
}

export function renderTrack(track, coverSrc) {
  $("track-artist").textContent = track.artist || "Unknown artist";
  $("track-title").textContent = titleWithYear(track) || "Untitled";
  $("track-album").textContent = track.album || "";
  const source = [track.bitDepth ? `${track.bitDepth}-bit` : "", formatRate(track.sampleRate)].filter(Boolean).join(" ");
  $("source-quality").textContent = source || "–";
  const badges = [track.isNew && "New", track.isSummer && "Summer", track.isVidgames && "Video games"].filter(Boolean);
  const box = $("track-badges");
  box.replaceChildren(...badges.map((b) => {
    const span = document.createElement("span");
    span.className = "badge";
    span.textContent = b;
    return span;
  }));
  box.hidden = badges.length === 0;
  const cover = $("cover");
  if (coverSrc && cover.getAttribute("src") !== coverSrc) cover.src = coverSrc;
  cover.alt = track.album ? `Cover of ${track.album} by ${track.artist}` : `Cover art for ${track.title} by ${track.artist}`;
}

export function renderStreamQuality(stream) {
  if (!stream) return;
  const codec = String(stream.codec || "flac").toUpperCase();
  $("stream-quality").textContent = `${formatRate(stream.sampleRate)} ${codec} / HLS Lossless`;
}

export function thumbButton(kind) {
  const template = document.querySelector(`#current-rating .thumb--${kind}`);
  const button = template.cloneNode(true);
  button.disabled = false;
  return button;
}

// Set the state of a group's two thumbs.
export function renderRating(group, track, rating, busy = false) {
  for (const button of group.querySelectorAll(".thumb")) {
    const kind = button.dataset.vote;
    const count = rating[kind] ?? 0;
    button.querySelector(".thumb__count").textContent = String(count);
    button.setAttribute("aria-pressed", String(rating.my_vote === kind));
    const name = track ? `${track.title} by ${track.artist}` : "this track";
    const verb = kind === "up" ? "Thumbs up" : "Thumbs down";
    button.setAttribute("aria-label", `${verb} for ${name}, ${count} ${count === 1 ? "vote" : "votes"}${rating.my_vote === kind ? " (your vote, press to retract)" : ""}`);
    button.disabled = !track?.songId || busy;
  }
}

export function renderHistory(tracks, makeRating) {
  const list = $("history-list");
  if (!tracks.length) {
    const li = document.createElement("li");
    li.className = "history__empty";
    li.textContent = "The tracks you hear will be listed here.";
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(...tracks.map((track) => {
    const li = document.createElement("li");
    li.className = "history__item";
    const text = document.createElement("p");
    text.className = "history__text";
    const artist = document.createElement("span");
    artist.className = "history__artist";
    artist.textContent = `${track.artist}: `;
    const title = document.createElement("cite");
    title.className = "history__title";
    title.textContent = track.title;
    text.append(artist, title);
    li.append(text, makeRating(track));
    return li;
  }));
}

// The status line has one lasting message per source, so that the track information
// recovering cannot erase "You are offline" from playback, and a passing message (with a
// time to live) falls back to the lasting ones instead of leaving the line blank.
const STATUS_PRIORITY = ["playback", "page", "metadata"];
const lastingStatus = new Map();
let passingStatus = null;
let passingTimer = null;

function renderStatus() {
  const el = $("status");
  const source = STATUS_PRIORITY.find((s) => lastingStatus.get(s)?.text);
  const shown = passingStatus ?? lastingStatus.get(source) ?? { text: "", kind: "info" };
  el.textContent = shown.text;
  el.dataset.kind = shown.kind;
}

export function setStatus(text, kind = "info", ttl = 0, source = "page") {
  if (ttl) {
    clearTimeout(passingTimer);
    passingStatus = { text, kind };
    passingTimer = setTimeout(() => { passingStatus = null; renderStatus(); }, ttl);
  } else {
    lastingStatus.set(source, { text, kind });
  }
  renderStatus();
}

export function announce(text) {
  $("announcer").textContent = text;
}
