// The RadioCalico player: creates the controllers (state and behaviour) and the views
// (drawing), and connects them. Controllers report changes as events; views draw what
// they are given and report the listener's wishes back as calls on a controller. Nothing
// here keeps state of its own.
import { Account } from "./account.js";
import { watchListeners } from "./audience.js";
import { ApiClient } from "./api/client.js";
import { Session } from "./api/session.js";
import { ServerClock } from "./clock.js";
import { loadConfig } from "./config.js";
import { Covers } from "./covers.js";
import { $ } from "./dom.js";
import { unlock } from "./handover.js";
import { MetadataPoller, pollInterval } from "./metadata.js";
import { NowPlaying } from "./nowplaying.js";
import { onOrigin } from "./origin.js";
import { bindKeys, bindMediaSession, updateMediaSession } from "./os.js";
import { Playback } from "./playback.js";
import { Quality } from "./quality.js";
import { Ratings } from "./ratings.js";
import { Status } from "./status.js";
import { AccountDialog } from "./views/account-dialog.js";
import { renderHistory } from "./views/history.js";
import { announce, renderListeners, renderTrack } from "./views/now-playing.js";
import { PlayerBar } from "./views/player-bar.js";
import { QualityView } from "./views/quality.js";
import { RatingsView } from "./views/ratings.js";
import { renderStatus } from "./views/status-line.js";

const CLOCK_MS = 250;
const TUNING_IN = "Tuning in to the station…";

// A press of Play before the player is wired (the API's answer is on its way over a slow
// link) is not lost: it is remembered, answered at once with a message, and played as soon
// as the player exists. A press before this module ran was kept by first-press.js. The
// press lets the element play later (WebKit refuses it otherwise, see handover.js).
// Returns whether Play was pressed, and stops listening.
function earlyPress(button, status) {
  let pressed = false;
  const press = () => {
    pressed = !pressed;
    status.set(pressed ? TUNING_IN : "", "info");
    button.setAttribute("aria-label", pressed ? "Pause" : "Play");
    if (pressed) unlock($("audio"));
  };
  if (window.radiocalicoFirstPress?.()) press();
  button.addEventListener("click", press);
  return () => {
    button.removeEventListener("click", press);
    return pressed;
  };
}

// History, charts and likes (library.js, views/library.js): their code, the plays and the
// plays' covers load when the list of plays first comes on screen (the library's tabs sit
// at the fold of a phone and of a laptop; the plays below it). A listener who only listens
// never downloads them.
function whenShown(element, load) {
  const observer = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    observer.disconnect();
    load();
  });
  observer.observe(element);
}

async function openLibrary({ client, ratings, thumbs, nowPlaying, session, status }) {
  const [{ Library }, { LibraryView }] = await Promise.all([import("./library.js"), import("./views/library.js")]);
  const library = new Library(client, ratings);
  const shelf = new LibraryView(library, ratings, thumbs);
  library.on("history", (state) => shelf.renderHistory(state));
  library.on("chart", (state) => shelf.renderChart(state));
  library.on("likes", (state) => shelf.renderLikes(state));
  library.on("error", (message) => status.set(message, "error", 8000));
  ratings.on("change", () => shelf.renderRatings());
  nowPlaying.on("change", ({ track, changed }) => changed && library.refreshNewest(track?.songId));
  session.on("change", () => library.showLikes());
  library.more();
}

async function main(status) {
  const pressedEarly = earlyPress($("play"), status);
  // The account works even while the stream's addresses cannot be had.
  const session = new Session();
  const client = new ApiClient(session);
  const account = new Account(client, session);
  const dialog = new AccountDialog(account);
  account.on("change", (state) => dialog.render(state));

  const config = await loadConfig(client, status);
  status.set("");
  const playEarly = pressedEarly();
  const clock = new ServerClock();
  const playback = new Playback($("audio"), config.stream_url, { clock, nativeUrl: config.native_stream_url });
  const quality = new Quality(playback); // before playback builds hls.js: it steers it
  const qualityView = new QualityView(quality);
  quality.on("change", (state) => qualityView.render(state));
  const covers = new Covers(config.cover_url);
  const nowPlaying = new NowPlaying(playback);
  const ratings = new Ratings(client);
  const poller = new MetadataPoller(config.metadata_url, { interval: pollInterval(playback), clock });
  const bar = new PlayerBar(playback);
  const thumbs = new RatingsView({ onVote: (track, kind) => ratings.vote(track, kind) });

  playback.on("status", ({ text, kind, ttl }) => status.set(text, kind, ttl, "playback"));
  playback.on("state", (state) => {
    bar.renderPlaying(state);
    poller.reschedule(); // playing polls faster
  });
  playback.on("volume", (volume) => bar.renderVolume(volume));
  // The metadata and cover of the origin hls.js plays from, after a failover too (origin.js).
  playback.on("origin", (level) => {
    poller.follow(onOrigin(config.metadata_url, config.stream_url, level));
    covers.follow(onOrigin(config.cover_url, config.stream_url, level));
  });

  poller.on("data", async (parsed) => {
    await covers.fetchCurrent(parsed.tracks[0]); // so that the cover is there when the track shows
    quality.setMetadata(parsed);
    nowPlaying.update(parsed);
  });
  poller.on("error", ({ failures }) => {
    if (failures >= 2) status.set("Track information is delayed; showing the last known track.", "info", 0, "metadata");
  });
  poller.on("recover", () => status.set("", "info", 0, "metadata"));

  nowPlaying.on("change", ({ track, previous, changed }) => {
    renderTrack(track, covers.src(track));
    renderHistory(previous, (t) => thumbs.group(t));
    thumbs.render(track, previous, ratings);
    ratings.show(nowPlaying.shownSongIds());
    updateMediaSession(track, covers.artworkUrl(track));
    if (changed) announce(track);
  });
  ratings.on("change", () => thumbs.render(nowPlaying.shown, nowPlaying.shownPrevious, ratings));

  whenShown($("history-days"), () => openLibrary({ client, ratings, thumbs, nowPlaying, session, status })
    .catch(() => status.set("The play history could not be loaded. Please reload the page.", "error")));
  watchListeners(client, renderListeners);
  ratings.on("error", (message) => status.set(message, "error", 8000));
  session.on("change", () => ratings.forgetMine()); // my votes differ per account

  setInterval(() => bar.renderClock({
    ...playback.snapshot(),
    elapsed: nowPlaying.elapsed() ?? playback.playingFor(),
  }), CLOCK_MS);
  bar.renderVolume(playback.volumeState());
  bar.renderPlaying(playback.snapshot());
  quality.render();
  poller.start();
  bindMediaSession(playback);
  bindKeys(playback);
  playback.prepare();
  if (playEarly) playback.play();
  account.restore();
  document.body.dataset.ready = "true";
}

const status = new Status();
status.on("change", renderStatus);
main(status).catch(() => status.set("Something went wrong. Please reload the page.", "error"));
