// Listeners' requests not played yet, oldest first (the station takes them in fair order).
import { $, el } from "../dom.js";
import { api, reason } from "./http.js";
import { say } from "./notice.js";

const POLL_MS = 10000;

export class RequestsController {
  start() {
    this.refresh();
    setInterval(() => this.refresh(), POLL_MS);
  }

  async refresh() {
    try {
      const { requests } = await api("GET", "/api/console/requests");
      $("requests-empty").hidden = requests.length > 0;
      $("request-list").replaceChildren(...requests.map((r) => el("li", {},
        el("span", { className: "queue__what" }, el("span", { text: `${r.artist} – ${r.title}`, dir: "auto" }),
          el("small", { text: `asked ${new Date(r.created_at).toLocaleString()}` })),
        el("span", { className: `tag${r.status === "queued" ? " tag--request" : ""}`, text: r.status }))));
    } catch (err) {
      say(reason(err));
    }
  }
}
