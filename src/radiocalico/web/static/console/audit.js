// The audit log: every change, who made it and when, newest first; older pages on demand.
import { $, el } from "../dom.js";
import { api, reason } from "./http.js";
import { say } from "./notice.js";

const PAGE = 30;

function describe(entry) {
  const d = entry.detail ?? {};
  const parts = Object.entries(d)
    .filter(([key]) => key !== "command_id")
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  return parts.length ? `${entry.action} (${parts.join(", ")})` : entry.action;
}

export class AuditController {
  constructor(bus) {
    bus.on("changed", () => this.refresh());
    $("audit-more").addEventListener("click", () => this.more());
  }

  start() {
    this.refresh();
  }

  row(entry) {
    return el("tr", {}, el("td", { text: new Date(entry.at).toLocaleString() }), el("td", { text: entry.username, dir: "auto" }),
      el("td", { text: describe(entry), dir: "auto" }));
  }

  async refresh() {
    try {
      const { entries } = await api("GET", `/api/console/audit?limit=${PAGE}`);
      $("audit-rows").replaceChildren(...entries.map((e) => this.row(e)));
      this.oldest = entries.at(-1)?.id;
      $("audit-more").hidden = entries.length < PAGE;
    } catch (err) {
      say(reason(err));
    }
  }

  async more() {
    try {
      const { entries } = await api("GET", `/api/console/audit?limit=${PAGE}&before=${this.oldest}`);
      $("audit-rows").append(...entries.map((e) => this.row(e)));
      this.oldest = entries.at(-1)?.id ?? this.oldest;
      $("audit-more").hidden = entries.length < PAGE;
    } catch (err) {
      say(reason(err));
    }
  }
}
