// Playlists and the schedule: the week drawn from the time blocks (station time zone), the
// gaps the server finds, blocks, station IDs and jingles added or taken out. The server
// says why a schedule is refused (overlapping blocks, an unknown playlist): shown as is.
import { $, el, setText } from "../dom.js";
import { api, reason } from "./http.js";
import { say } from "./notice.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

function minutes(clock) {
  const [h, m] = clock.split(":").map(Number);
  return h * 60 + m;
}

function button(text, label, action) {
  const b = el("button", { className: "btn btn--secondary btn--small", text });
  b.type = "button";
  b.setAttribute("aria-label", label);
  b.addEventListener("click", action);
  return b;
}

export class ScheduleController {
  constructor(bus) {
    this.bus = bus;
    this.schedule = { blocks: [], timed: [] };
    $("playlist-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.savePlaylist();
    });
    $("block-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.addBlock();
    });
    $("timed-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.addTimed();
    });
  }

  start() {
    this.refresh();
  }

  async refresh() {
    try {
      const [playlists, schedule] = await Promise.all([api("GET", "/api/console/playlists"), api("GET", "/api/console/schedule")]);
      this.drawPlaylists(playlists.playlists);
      this.drawSchedule(schedule);
    } catch (err) {
      say(reason(err));
    }
  }

  drawPlaylists(playlists) {
    $("playlists").replaceChildren(...playlists.map((p) => {
      const what = p.entries.map((e) => `${e.kind} ${e.value}${e.weight > 1 ? ` ×${e.weight}` : ""}`).join(", ") || "no entries";
      return el("li", {},
        el("span", { className: "queue__what" }, el("span", { text: p.name, dir: "auto" }),
          el("small", { text: `${what} · ${p.tracks} track${p.tracks === 1 ? "" : "s"}${p.tracks === 0 ? " (empty: the whole library plays instead)" : ""}` })),
        button("Delete", `Delete the playlist ${p.name}`, () => this.deletePlaylist(p.name)));
    }));
    for (const id of ["bl-playlist", "tm-playlist"]) {
      const select = $(id);
      const chosen = select.value;
      select.replaceChildren(...playlists.map((p) => {
        const option = el("option", { text: p.name });
        option.value = p.name;
        return option;
      }));
      if (chosen) select.value = chosen;
    }
  }

  drawSchedule(schedule) {
    this.schedule = { blocks: schedule.blocks, timed: schedule.timed };
    setText($("timezone"), `(${schedule.timezone})`);
    this.drawWeek(schedule.blocks);
    $("gaps").replaceChildren(...schedule.gaps.map((gap) => el("li", { text: `Gap: ${gap}` })));
    $("blocks").replaceChildren(...schedule.blocks.map((b, i) => el("li", {},
      el("span", { className: "queue__what", text: `${b.name}: ${b.playlist}, ${b.days.map((d) => DAY_NAMES[d]).join(" ")} ${b.start}–${b.end}`, dir: "auto" }),
      button("Remove", `Remove the block ${b.name}`, () => this.put({ ...this.schedule, blocks: this.schedule.blocks.filter((_, j) => j !== i) }, `Removed the block ${b.name}.`)))));
    $("timed").replaceChildren(...schedule.timed.map((t, i) => el("li", {},
      el("span", { className: "queue__what", text: t.kind === "top_of_hour" ? `${t.playlist} at the top of every hour` : `${t.playlist} every ${t.every} songs`, dir: "auto" }),
      button("Remove", `Remove ${t.playlist}`, () => this.put({ ...this.schedule, timed: this.schedule.timed.filter((_, j) => j !== i) }, `Removed ${t.playlist}.`)))));
  }

  // Seven columns of 24 hours; a block past midnight continues at the top of the next day.
  drawWeek(blocks) {
    const week = $("week");
    const hours = el("div", { className: "week__hours" });
    for (const h of [6, 12, 18]) {
      const label = el("span", { text: `${String(h).padStart(2, "0")}:00` });
      label.style.top = `${(h / 24) * 100}%`;
      hours.append(label);
    }
    const columns = DAYS.map((day) => el("div", { className: "week__day" },
      el("span", { className: "week__name", text: DAY_NAMES[day] })));
    for (const block of blocks) {
      const start = minutes(block.start) % 1440;
      const length = ((minutes(block.end) - start + 1440) % 1440) || 1440;
      for (const day of block.days) {
        let index = DAYS.indexOf(day);
        let from = start;
        let left = length;
        while (left > 0) {
          const span = Math.min(left, 1440 - from);
          const box = el("div", { className: "week__block", text: `${block.name} ${block.start}–${block.end}`, dir: "auto" });
          box.style.top = `${(from / 1440) * 100}%`;
          box.style.height = `${(span / 1440) * 100}%`;
          box.title = `${block.name} (${block.playlist}) ${block.start}–${block.end}`;
          columns[index].append(box);
          left -= span;
          from = 0;
          index = (index + 1) % 7;
        }
      }
    }
    week.replaceChildren(hours, ...columns);
  }

  async put(schedule, done, errorId = "block-error") {
    setText($(errorId), "");
    try {
      const answer = await api("PUT", "/api/console/schedule", schedule);
      this.drawSchedule(answer);
      say(answer.gaps.length ? `${done} Gaps play the whole library.` : done);
      this.bus.emit("changed");
      this.bus.emit("programme");
      return true;
    } catch (err) {
      setText($(errorId), reason(err));
      return false;
    }
  }

  async addBlock() {
    const days = [...document.querySelectorAll('#block-form input[name="day"]:checked')].map((box) => box.value);
    if (!days.length) {
      setText($("block-error"), "Choose at least one day.");
      return;
    }
    const block = { name: $("bl-name").value.trim(), playlist: $("bl-playlist").value, days,
      start: $("bl-start").value, end: $("bl-end").value === "00:00" ? "24:00" : $("bl-end").value };
    if (await this.put({ ...this.schedule, blocks: [...this.schedule.blocks, block] }, `Added the block ${block.name}.`)) {
      $("bl-name").value = "";
    }
  }

  addTimed() {
    const kind = $("tm-kind").value;
    const item = { kind, playlist: $("tm-playlist").value, ...(kind === "every_n" ? { every: Number($("tm-every").value) } : {}) };
    return this.put({ ...this.schedule, timed: [...this.schedule.timed, item] }, `Added ${item.playlist}.`, "timed-error");
  }

  async savePlaylist() {
    setText($("playlist-error"), "");
    const name = $("pl-name").value.trim();
    const entry = { kind: $("pl-kind").value, value: $("pl-value").value.trim(), weight: Number($("pl-weight").value) || 1 };
    try {
      const saved = await api("PUT", `/api/console/playlists/${encodeURIComponent(name)}`, { entries: [entry] });
      say(saved.tracks ? `Saved ${saved.name}: ${saved.tracks} tracks.` : `Saved ${saved.name}, but it matches no track yet: the whole library plays in its place.`);
      this.bus.emit("changed");
      this.bus.emit("programme");
      this.refresh();
    } catch (err) {
      setText($("playlist-error"), reason(err));
    }
  }

  async deletePlaylist(name) {
    if (!window.confirm(`Delete the playlist ${name}, and the blocks and items naming it?`)) return;
    try {
      await api("DELETE", `/api/console/playlists/${encodeURIComponent(name)}`);
      say(`Deleted ${name}.`);
      this.bus.emit("changed");
      this.bus.emit("programme");
      this.refresh();
    } catch (err) {
      say(reason(err));
    }
  }
}
