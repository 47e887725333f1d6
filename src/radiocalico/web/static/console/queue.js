// On air: the track playing, the DJ if one is live, and the queue ("Up next"): skip now,
// move an item up or down, take it out. Each is a station command; the station applies it
// at its next segment, and the queue is read again once it has.
import { $, el, setText } from "../dom.js";
import { api, reason } from "./http.js";
import { say } from "./notice.js";

const POLL_MS = 3000;

function why(entry) {
  if (entry.requested || entry.reason?.startsWith("request:")) return "a listener's request";
  if (entry.reason?.startsWith("playlist:")) return `playlist ${entry.reason.slice(9)}`;
  if (entry.reason === "station-id") return "station ID";
  return entry.reason || "rotation";
}

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export class QueueController {
  constructor(bus) {
    this.bus = bus;
    this.items = [];
    $("skip").addEventListener("click", () => this.command("POST", "/api/console/skip", "Skipped: the next item starts within a segment."));
    $("disconnect").addEventListener("click", () => this.command("POST", "/api/console/live/disconnect", "The DJ is disconnected; the rotation comes back."));
    bus.on("programme", () => this.refresh());
  }

  start() {
    this.refresh();
    setInterval(() => this.refresh(), POLL_MS);
  }

  async refresh() {
    try {
      const [queue, live] = await Promise.all([api("GET", "/api/console/queue"), api("GET", "/api/console/live")]);
      this.draw(queue, live);
    } catch (err) {
      say(reason(err));
    }
  }

  draw(queue, live) {
    const current = queue.current;
    setText($("current"), current ? `${current.artist} – ${current.title}` : "Nothing yet");
    setText($("current-why"), current ? `Playing as ${why(current)}${current.relaxed ? " (rules relaxed: the library is small)" : ""}, since ${clock(current.started_at)}` : "");
    $("live").classList.toggle("live--on", live.on_air);
    setText($("live-text"), live.on_air ? `${live.dj} is on air live${live.title ? `: ${live.title}` : ""}.` : "No DJ is on air.");
    $("disconnect").hidden = !live.on_air;
    $("queue-empty").hidden = queue.next.length > 0;
    const key = JSON.stringify(queue.next.map((n) => [n.item_id, n.starts_at]));
    if (key === this.key) return; // unchanged: keep focus where it is
    this.key = key;
    const list = $("queue");
    const focused = document.activeElement?.dataset?.focusKey;
    list.replaceChildren(...queue.next.map((entry, index) => this.row(entry, index, queue.next.length)));
    if (focused) list.querySelector(`[data-focus-key="${focused}"]`)?.focus();
  }

  row(entry, index, count) {
    const label = `${entry.artist} – ${entry.title}`;
    const what = el("span", { className: "queue__what" },
      el("span", { text: label, dir: "auto" }),
      el("small", { text: `${clock(entry.starts_at)} · ${why(entry)}` }));
    const button = (text, name, action, disabled = false) => {
      const b = el("button", { className: "icon-btn", text });
      b.type = "button";
      b.setAttribute("aria-label", `${name} ${label}`);
      b.dataset.focusKey = `${name}:${entry.item_id}`;
      b.disabled = disabled;
      b.addEventListener("click", action);
      return b;
    };
    const item = el("li", {},
      el("span", { className: "queue__pos", text: String(index + 1) }), what,
      entry.requested ? el("span", { className: "tag tag--request", text: "request" }) : "",
      button("↑", "Move up", () => this.move(entry, index - 1, label), index === 0),
      button("↓", "Move down", () => this.move(entry, index + 1, label), index === count - 1),
      button("✕", "Remove", () => this.command("DELETE", `/api/console/queue/${entry.item_id}`, `Removed ${label}.`)));
    item.dataset.itemId = entry.item_id;
    return item;
  }

  move(entry, position, label) {
    return this.command("POST", `/api/console/queue/${entry.item_id}/move`, `Moved ${label} to place ${position + 1}.`, { position });
  }

  async command(method, path, done, body) {
    try {
      const command = await api(method, path, body);
      this.bus.emit("changed");
      await this.applied(command.command_id);
      say(done);
    } catch (err) {
      say(reason(err));
    }
  }

  // Wait (briefly) for the station to apply the command, then show the queue it made.
  async applied(id) {
    for (let i = 0; i < 40; i += 1) {
      const command = await api("GET", `/api/console/commands/${id}`);
      if (command.applied_at) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The queue is read from the station's published metadata a moment later.
    setTimeout(() => this.refresh(), 500);
    return this.refresh();
  }
}
