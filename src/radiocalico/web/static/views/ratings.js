// The thumbs: the current track's group (in the page) and a small group per previous track
// (made here from the current group's buttons), each drawn from the ratings' state. A click
// only reports the wish (`onVote(track, "up"|"down")`); the counts change when the state does.
import { $, el } from "../dom.js";

function thumbButton(kind) {
  const button = document.querySelector(`#current-rating .thumb--${kind}`).cloneNode(true);
  button.disabled = false;
  return button;
}

// One group's two thumbs for `track` (null: nothing on show), with `rating` from Ratings.view().
// A thumb is disabled while its vote is in flight, which takes the keyboard focus off it:
// the focus comes back to it when the vote is done, so the listener can carry on from there.
export function renderGroup(group, track, rating) {
  for (const button of group.querySelectorAll(".thumb")) {
    if (document.activeElement === button) refocus.add(button);
    const kind = button.dataset.vote;
    const count = rating[kind] ?? 0;
    const mine = rating.my_vote === kind;
    button.querySelector(".thumb__count").textContent = String(count);
    button.setAttribute("aria-pressed", String(mine));
    const name = track ? `${track.title} by ${track.artist}` : "this track";
    const verb = kind === "up" ? "Thumbs up" : "Thumbs down";
    button.setAttribute("aria-label", `${verb} for ${name}, ${count} ${count === 1 ? "vote" : "votes"}${mine ? " (your vote, press to retract)" : ""}`);
    button.disabled = !track?.songId || rating.busy;
    if (!button.disabled && refocus.delete(button) && lostFocus()) button.focus({ preventScroll: true });
  }
}

const refocus = new WeakSet(); // thumbs that had the focus when they were disabled

function lostFocus() {
  const active = document.activeElement;
  return !active || active === document.body || active.disabled;
}

export class RatingsView {
  constructor({ onVote }) {
    this.onVote = onVote;
    this.current = $("current-rating");
    this.track = null; // the track the current group was last drawn for
    for (const button of this.current.querySelectorAll(".thumb")) {
      button.addEventListener("click", () => this.track && onVote(this.track, button.dataset.vote));
    }
  }

  // A new group for a previous track (the history list places it).
  group(track) {
    const group = el("div", { className: "rating rating--small" });
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", `Rate ${track.title} by ${track.artist}`);
    group.dataset.songId = track.songId;
    for (const kind of ["up", "down"]) {
      const button = thumbButton(kind);
      button.addEventListener("click", () => this.onVote(track, kind));
      group.append(button);
    }
    return group;
  }

  // Every group on the page: the current track's, then the history's in list order.
  render(track, previous, ratings) {
    this.track = track;
    renderGroup(this.current, track, track ? ratings.view(track.songId) : { busy: false });
    $("history-list").querySelectorAll(".rating").forEach((group, i) => {
      const t = previous[i];
      if (t) renderGroup(group, t, ratings.view(t.songId));
    });
  }
}
