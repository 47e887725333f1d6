// Who the listener is to our API: the signed-in account and its CSRF token, or the
// anonymous listener's fingerprint. The session cookie itself is the browser's; a hint in
// storage says whether one probably exists, which saves an anonymous visitor a 401 on load.
import { Emitter } from "../events.js";
import { listenerFingerprint } from "./fingerprint.js";

const HINT_KEY = "radiocalico.signedIn";

// Events: "change" (detail: the signed-in user, or null).
export class Session extends Emitter {
  constructor() {
    super();
    this.user = null;
    this.csrf = null;
  }

  set(user, csrf) {
    this.user = user ?? null;
    this.csrf = user ? csrf ?? null : null;
    try {
      if (user) localStorage.setItem(HINT_KEY, "1");
      else localStorage.removeItem(HINT_KEY);
    } catch { /* storage may be unavailable */ }
    this.emit("change", this.user);
  }

  mightBeSignedIn() {
    try {
      return localStorage.getItem(HINT_KEY) === "1";
    } catch {
      return false;
    }
  }

  // The headers that say who is calling `operation` (see operations.js).
  async headers(operation) {
    const headers = {};
    if (this.user && this.csrf && operation.method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    if (operation.listener) headers["X-Listener-Fingerprint"] = await listenerFingerprint();
    return headers;
  }
}
