// Draws the library (views only): the tabs, the play history day by day, the charts, my
// likes. Clicks report wishes to the library and ratings controllers.
import { $, el, setText } from "../dom.js";
import { asTrack } from "../library.js";
import { renderGroup } from "./ratings.js";

const LOGO = "/static/logo-128.webp";
const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
const SEARCH_DELAY_MS = 300;

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return DAY.format(date);
}

function cover(song) {
  const img = el("img", { className: "song__cover" });
  img.src = song.cover_url ? new URL(song.cover_url, location.href).pathname : LOGO;
  img.width = 56;
  img.height = 56;
  img.alt = "";
  img.loading = "lazy";
  return img;
}

function songText(song, extra) {
  return el("p", { className: "song__text" },
    el("span", { className: "song__title", text: song.title, dir: "auto" }),
    el("span", { className: "song__artist", text: song.artist, dir: "auto" }),
    ...(song.album ? [el("span", { className: "song__album", text: song.album })] : []),
    ...(extra ? [extra] : []));
}

export class LibraryView {
  constructor(library, ratings, thumbs) {
    this.library = library;
    this.ratings = ratings;
    this.thumbs = thumbs;
    this.groups = []; // [group, track] of every rating group drawn here
    this.bindTabs();
    let timer = null;
    $("history-search").addEventListener("input", (event) => {
      clearTimeout(timer);
      timer = setTimeout(() => library.search(event.target.value), SEARCH_DELAY_MS);
    });
    $("history-more").addEventListener("click", () => library.more());
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !$("panel-history").hidden) library.more();
    }, { rootMargin: "200px" }).observe($("history-more"));
    for (const id of ["chart-name", "chart-period"]) {
      $(id).addEventListener("change", () => library.showChart($("chart-name").value, $("chart-period").value));
    }
    $("likes-more").addEventListener("click", () => library.showLikes(false));
  }

  bindTabs() {
    const tabs = [...document.querySelectorAll("#library [role=tab]")];
    const select = (tab) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", String(on));
        t.tabIndex = on ? 0 : -1;
        $(t.getAttribute("aria-controls")).hidden = !on;
      }
      if (tab.id === "tab-charts") this.library.showChart();
      if (tab.id === "tab-likes") this.library.showLikes();
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        const next = tabs[(i + step + tabs.length) % tabs.length];
        next.focus();
        select(next);
      });
    });
  }

  group(song) {
    const track = asTrack(song);
    const group = this.thumbs.group(track);
    renderGroup(group, track, this.ratings.view(track.songId));
    this.groups.push([group, track]);
    return group;
  }

  // Counts or my votes changed: redraw every group of ours.
  renderRatings() {
    this.groups = this.groups.filter(([group]) => group.isConnected);
    for (const [group, track] of this.groups) renderGroup(group, track, this.ratings.view(track.songId));
  }

  renderHistory(state) {
    const days = [];
    let current = null;
    for (const play of state.plays) {
      const at = new Date(play.started_at);
      const label = dayLabel(at);
      if (!current || current.label !== label) {
        current = { label, items: [] };
        days.push(current);
      }
      const time = el("time", { className: "song__time", text: TIME.format(at) });
      time.dateTime = play.started_at;
      const item = el("li", { className: "song" }, time, cover(play), songText(play), this.group(play));
      item.dataset.playId = String(play.id);
      item.dataset.songId = play.song_id;
      current.items.push(item);
    }
    $("history-days").replaceChildren(...days.map((day) => el("section", { className: "day" },
      el("h3", { className: "day__label", text: day.label }),
      el("ol", { className: "song-list" }, ...day.items))));
    const empty = !state.plays.length && !state.loading;
    $("history-empty").hidden = !empty;
    setText($("history-empty"), state.failed ? "The play history could not be loaded." :
      state.q ? `Nothing played matches “${state.q}”.` : "No plays recorded yet.");
    $("history-more").hidden = state.done;
    $("history-more").disabled = state.loading;
    setText($("history-more"), state.loading ? "Loading…" : "Show older plays");
    this.renderRatings();
  }

  renderChart(state) {
    const plays = state.name === "most-played";
    $("chart-list").replaceChildren(...state.songs.map((song) => {
      const detail = el("span", { className: "song__detail",
        text: plays ? `${song.plays} ${song.plays === 1 ? "play" : "plays"}` : `${song.net >= 0 ? "+" : ""}${song.net} net` });
      const item = el("li", { className: "song" }, el("span", { className: "song__rank", text: String(song.rank) }),
        cover(song), songText(song, detail), this.group(song));
      item.dataset.songId = song.song_id;
      return item;
    }));
    $("chart-empty").hidden = state.loading || state.songs.length > 0;
    this.renderRatings();
  }

  renderLikes(state) {
    $("likes-page-list").replaceChildren(...state.songs.map((song) => {
      const remove = el("button", { className: "btn btn--secondary song__remove", text: "Remove" });
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${song.title} by ${song.artist} from my likes`);
      remove.addEventListener("click", () => this.library.unlike(song));
      const item = el("li", { className: "song" }, cover(song), songText(song), remove);
      item.dataset.songId = song.song_id;
      return item;
    }));
    $("likes-page-empty").hidden = state.loading || state.songs.length > 0;
    $("likes-more").hidden = state.done;
  }
}
