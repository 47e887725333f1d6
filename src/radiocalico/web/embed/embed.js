// The embed card: polls /api/now-playing (same origin, no credentials) and draws it.
const POLL_MS = 5000;
const LOGO = "/static/logo-128.webp";
const $ = (id) => document.getElementById(id);

function draw(data) {
  const current = data.current;
  $("title").textContent = current ? current.title : "Tuning in…";
  $("artist").textContent = current ? current.artist : "";
  const cover = $("cover");
  const src = current?.cover_url ? new URL(current.cover_url).pathname : LOGO;
  if (cover.getAttribute("src") !== src) cover.src = src;
  cover.alt = current ? `Cover of ${current.title}` : "";
  const n = data.listeners;
  $("listeners").textContent = typeof n === "number" ? `${n} listening` : "";
  document.body.dataset.songId = current?.song_id ?? "";
}

async function poll() {
  try {
    const response = await fetch("/api/now-playing", { credentials: "omit" });
    if (response.ok) draw(await response.json());
  } catch { /* keep the last card; try again */ }
  document.body.dataset.ready = "true";
  setTimeout(poll, POLL_MS);
}

poll();
