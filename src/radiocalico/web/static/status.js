// What the status line says. Each source (playback, page, metadata) has one lasting
// message, so that the track information recovering cannot erase "You are offline" from
// playback; a passing message (with a time to live) falls back to the lasting ones instead
// of leaving the line blank.
//
// Events: "change" (detail: {text, kind}, the message to show).
import { Emitter } from "./events.js";

const PRIORITY = ["playback", "page", "metadata"];

export class Status extends Emitter {
  constructor() {
    super();
    this.lasting = new Map(); // source -> {text, kind}
    this.passing = null;
    this.passingTimer = null;
  }

  set(text, kind = "info", ttl = 0, source = "page") {
    if (ttl) {
      clearTimeout(this.passingTimer);
      this.passing = { text, kind };
      this.passingTimer = setTimeout(() => {
        this.passing = null;
        this.emit("change", this.current());
      }, ttl);
    } else {
      this.lasting.set(source, { text, kind });
    }
    this.emit("change", this.current());
  }

  current() {
    const source = PRIORITY.find((s) => this.lasting.get(s)?.text);
    return this.passing ?? this.lasting.get(source) ?? { text: "", kind: "info" };
  }
}
