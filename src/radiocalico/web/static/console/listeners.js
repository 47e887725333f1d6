// Listeners over time: the hourly samples (/api/listeners, peak and mean per hour) drawn as
// an inline SVG chart, with the figures in words for screen readers.
import { $, setText } from "../dom.js";
import { api, reason } from "./http.js";
import { say } from "./notice.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 600;
const H = 200;
const PAD = { left: 32, right: 8, top: 8, bottom: 20 };
const DAYS = 7;
const POLL_MS = 60000;

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

export class ListenersController {
  start() {
    this.refresh();
    setInterval(() => this.refresh(), POLL_MS);
  }

  async refresh() {
    try {
      const data = await api("GET", `/api/listeners?days=${DAYS}`);
      setText($("listeners-now"), data.listeners === null ? "Unknown" : String(data.listeners));
      this.draw(data.hours);
    } catch (err) {
      say(reason(err));
    }
  }

  draw(hours) {
    const end = Date.now();
    const start = end - DAYS * 86400000;
    const top = Math.max(1, ...hours.map((h) => h.peak));
    const x = (t) => PAD.left + ((t - start) / (end - start)) * (W - PAD.left - PAD.right);
    const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
    const peak = hours.reduce((best, h) => (h.peak > (best?.peak ?? -1) ? h : best), null);
    const words = hours.length
      ? `Listeners, hourly, the last ${DAYS} days: ${hours.length} hours with listeners; the peak, ${peak.peak}, at ${new Date(peak.hour).toLocaleString()}.`
      : `No listeners counted in the last ${DAYS} days.`;
    chart.append(svg("title", {}, words));
    chart.append(svg("line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }));
    chart.append(svg("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }));
    chart.append(svg("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, String(top)));
    chart.append(svg("text", { x: PAD.left - 4, y: H - PAD.bottom, "text-anchor": "end" }, "0"));
    for (let d = 0; d <= DAYS; d += 1) {
      const t = start + d * 86400000;
      chart.append(svg("text", { x: x(t), y: H - 4, "text-anchor": "middle" },
        new Date(t).toLocaleDateString([], { weekday: "short" })));
    }
    const line = (key, className) => {
      const points = hours.map((h) => `${x(Date.parse(h.hour)).toFixed(1)},${y(h[key]).toFixed(1)}`).join(" ");
      if (points) chart.append(svg("polyline", { class: className, points }));
    };
    line("peak", "peak");
    line("mean", "mean");
    for (const h of hours) { // an hour alone makes no line: its dot shows
      chart.append(svg("circle", { class: "dot", cx: x(Date.parse(h.hour)).toFixed(1), cy: y(h.peak).toFixed(1), r: 2.5 }));
    }
    $("listeners-chart").replaceChildren(chart);
    setText($("listeners-caption"), `${words} Solid: hourly peak; dashed: hourly mean.`);
  }
}
