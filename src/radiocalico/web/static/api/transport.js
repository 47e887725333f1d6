// HTTP to our own API: JSON in and out, a time limit, and failures turned into ApiError
// from the documented error shape (ErrorResponse). Who is calling (cookies, CSRF token,
// fingerprint) is the session's business: this module sends the headers it is given.
import { ERROR_READS, read } from "./operations.js";

// Long enough for a slow mobile network, short enough that a request lost in a dead
// connection does not leave a button disabled for good.
const TIMEOUT_MS = 15000;

export class ApiError extends Error {
  // `retryAfter`: the seconds the server's Retry-After asks for, or null; the page words a
  // wait with it ("your votes count in 30 seconds") instead of guessing.
  constructor(status, code, message, fields = [], retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

// Retry-After in seconds (it may be a number of seconds or an HTTP date), or null.
function retryAfter(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

// The response's JSON (null for 204), or an ApiError.
export async function request(method, path, { body, headers = {}, timeoutMs = TIMEOUT_MS } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    if (err?.name === "TimeoutError") {
      throw new ApiError(0, "timeout", "The server did not answer in time. Please try again.");
    }
    throw new ApiError(0, "network", "The network is unreachable. Please try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch { /* not JSON: a proxy's error page */ }
  if (!response.ok) {
    const { error } = read(ERROR_READS, data) ?? {};
    throw new ApiError(response.status, error?.code ?? "http_error",
      error?.message ?? `The server answered ${response.status}.`, error?.fields ?? [],
      retryAfter(response));
  }
  return data;
}
