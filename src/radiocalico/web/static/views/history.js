// The previous tracks list. Each row gets its thumbs from `makeRating(track)`, once per
// track: a row already on the page is moved, not redrawn, and the control that had the
// keyboard focus gets it back, so that a track change does not throw the listener's focus
// to the top of the page.
import { $, el } from "../dom.js";

const rows = new WeakMap(); // track -> its row

function row(track, makeRating) {
  if (!rows.has(track)) {
    rows.set(track, el("li", { className: "history__item" },
      el("p", { className: "history__text" },
        el("span", { className: "history__artist", text: `${track.artist}: `, dir: "auto" }),
        el("cite", { className: "history__title", text: track.title, dir: "auto" })),
      makeRating(track)));
  }
  return rows.get(track);
}

export function renderHistory(tracks, makeRating) {
  const list = $("history-list");
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  if (!tracks.length) {
    list.replaceChildren(el("li", { className: "history__empty", text: "The tracks you hear will be listed here." }));
  } else {
    list.replaceChildren(...tracks.map((track) => row(track, makeRating)));
  }
  if (focused?.isConnected) focused.focus({ preventScroll: true });
}
