// The console's one way to the API: JSON calls with the session's CSRF token (the player's
// transport.js underneath: the time limit and the error shape), and uploads with progress
// (XMLHttpRequest: fetch cannot report an upload's progress).
import { ApiError, request } from "../api/transport.js";
import { ERROR_READS, read } from "../api/operations.js";

let csrf = "";

export function setCsrf(token) {
  csrf = token ?? "";
}

export function api(method, path, body) {
  const headers = method === "GET" ? {} : { "X-CSRF-Token": csrf };
  return request(method, path, { body, headers });
}

// POST the file's bytes; `onProgress(fraction)` as they go. Resolves with the JSON answer,
// rejects with an ApiError (the server's reason when it gave one).
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(xhr.response);
        return;
      }
      const { error } = read(ERROR_READS, xhr.response) ?? {};
      reject(new ApiError(xhr.status, error?.code ?? "http_error",
        error?.message ?? `The server answered ${xhr.status}.`, error?.fields ?? []));
    });
    // A refusal before the body is read (too large) may end the connection mid-upload.
    xhr.addEventListener("error", () => reject(new ApiError(0, "network",
      "The upload was cut off. Is the file larger than the largest upload?")));
    xhr.send(file);
  });
}

// A whole error in words for the operator: the message and any field's reason.
export function reason(err) {
  const fields = (err?.fields ?? []).map((f) => `${f.field}: ${f.message}`).join("; ");
  return fields && err.code === "validation_error" ? `${err.message} (${fields})` : (err?.message ?? String(err));
}
