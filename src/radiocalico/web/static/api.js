// Talking to our API: JSON in and out, the error shape, who the listener is.
import { sha256Hex } from "./songid.js";

export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

const session = { user: null, csrf: null };
const listeners = new Set();

export function currentUser() {
  return session.user;
}

export function onSessionChange(fn) {
  listeners.add(fn);
}

const HINT = "radiocalico.signedIn";

export function setSession(user, csrf) {
  session.user = user ?? null;
  session.csrf = user ? csrf ?? null : null;
  try {
    if (user) localStorage.setItem(HINT, "1");
    else localStorage.removeItem(HINT);
  } catch { /* storage may be unavailable */ }
  for (const fn of listeners) fn(session.user);
}

// Whether a session cookie probably exists: saves an anonymous visitor a 401 on load.
export function mightBeSignedIn() {
  try {
    return localStorage.getItem(HINT) === "1";
  } catch {
    return false;
  }
}

let fingerprint = null;

// The anonymous listener's id: SHA-256 over stable browser traits plus a random value kept
// in this browser's storage (so two identical browsers are still two listeners). The server
// stores only an HMAC of it.
export async function listenerFingerprint() {
  if (fingerprint) return fingerprint;
  let installId = "";
  try {
    installId = localStorage.getItem("radiocalico.install") ?? "";
    if (!installId) {
      installId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem("radiocalico.install", installId);
    }
  } catch { /* storage may be unavailable: traits only */ }
  const traits = [
    navigator.userAgent,
    (navigator.languages ?? [navigator.language]).join(","),
    navigator.hardwareConcurrency ?? "",
    Intl.DateTimeFormat().resolvedOptions().timeZone ?? "",
    screen.colorDepth,
    `${screen.width}x${screen.height}`,
    installId,
  ];
  fingerprint = await sha256Hex(traits.join("\u001f"));
  return fingerprint;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.user && session.csrf && method !== "GET") headers["X-CSRF-Token"] = session.csrf;
  if (path.startsWith("/api/ratings")) headers["X-Listener-Fingerprint"] = await listenerFingerprint();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "The network is unreachable. Please try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch { /* not JSON */ }
  if (!response.ok) {
    const err = data?.error ?? {};
    throw new ApiError(response.status, err.code ?? "http_error",
      err.message ?? `The server answered ${response.status}.`, err.fields ?? []);
  }
  return data;
}
