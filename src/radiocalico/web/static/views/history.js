// The previous tracks list. Each row gets its thumbs from `makeRating(track)`.
import { $, el } from "../dom.js";

export function renderHistory(tracks, makeRating) {
  const list = $("history-list");
  if (!tracks.length) {
    list.replaceChildren(el("li", { className: "history__empty", text: "The tracks you hear will be listed here." }));
    return;
  }
  list.replaceChildren(...tracks.map((track) => el("li", { className: "history__item" },
    el("p", { className: "history__text" },
      el("span", { className: "history__artist", text: `${track.artist}: ` }),
      el("cite", { className: "history__title", text: track.title })),
    makeRating(track))));
}
