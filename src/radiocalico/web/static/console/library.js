// The library: search it, upload a file (with progress; a refusal says why), edit a file's
// tags, remove a file.
import { $, el, setText } from "../dom.js";
import { api, reason, upload } from "./http.js";
import { say } from "./notice.js";

function megabytes(n) {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GB` : `${Math.round(n / 1024 ** 2)} MB`;
}

export class LibraryController {
  constructor(bus) {
    this.bus = bus;
    this.maxBytes = Infinity;
    this.editing = null;
    $("upload-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload();
    });
    $("library-search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.refresh();
    });
    $("tags-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveTags();
    });
    $("tags-cancel").addEventListener("click", () => $("tags-dialog").close());
  }

  start() {
    this.refresh();
  }

  async refresh() {
    try {
      const found = await api("GET", `/api/console/library?limit=200&q=${encodeURIComponent($("library-q").value.trim())}`);
      this.maxBytes = found.max_upload_bytes;
      $("library-folder").hidden = found.folder;
      $("library-rows").replaceChildren(...found.tracks.map((track) => this.row(track, found.folder)));
    } catch (err) {
      say(reason(err));
    }
  }

  row(track, writable) {
    const label = `${track.artist} – ${track.title}`;
    const actions = el("td", { className: "row" });
    if (writable) {
      const edit = el("button", { className: "btn btn--secondary btn--small", text: "Edit" });
      edit.type = "button";
      edit.setAttribute("aria-label", `Edit the tags of ${label}`);
      edit.addEventListener("click", () => this.openTags(track));
      const remove = el("button", { className: "btn btn--secondary btn--small", text: "Remove" });
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${label} from the library`);
      remove.addEventListener("click", () => this.remove(track, label));
      actions.append(edit, remove);
    }
    const tr = el("tr", {},
      el("td", { text: track.artist, dir: "auto" }), el("td", { text: track.title, dir: "auto" }),
      el("td", { text: track.album, dir: "auto" }), el("td", { text: track.genre, dir: "auto" }),
      el("td", { text: track.path, dir: "auto" }), actions);
    tr.dataset.trackId = track.track_id;
    return tr;
  }

  async upload() {
    const file = $("upload-file").files[0];
    const error = $("upload-error");
    const ok = $("upload-ok");
    setText(error, "");
    setText(ok, "");
    if (!file) {
      setText(error, "Choose a file first.");
      return;
    }
    if (file.size > this.maxBytes) { // the server says the same; this spares sending it
      setText(error, `“${file.name}” is ${megabytes(file.size)}; the largest upload is ${megabytes(this.maxBytes)}.`);
      return;
    }
    const progress = $("upload-progress");
    progress.hidden = false;
    progress.value = 0;
    const button = $("upload-form").querySelector("button");
    button.disabled = true;
    try {
      const track = await upload(`/api/console/library?name=${encodeURIComponent(file.name)}`, file,
        (fraction) => { progress.value = Math.round(fraction * 100); });
      progress.value = 100;
      setText(ok, `Added ${track.artist} – ${track.title} (${track.path}): the station plays it from its next scan.`);
      $("upload-file").value = "";
      this.bus.emit("changed");
      this.refresh();
    } catch (err) {
      setText(error, reason(err));
    } finally {
      button.disabled = false;
      progress.hidden = true;
    }
  }

  openTags(track) {
    this.editing = track;
    setText($("tags-file"), track.path);
    for (const key of ["artist", "title", "album", "genre"]) $(`tag-${key}`).value = track[key];
    setText($("tags-error"), "");
    $("tags-dialog").showModal();
  }

  async saveTags() {
    const track = this.editing;
    const body = {};
    for (const key of ["artist", "title", "album", "genre"]) {
      const value = $(`tag-${key}`).value.trim();
      if (value !== track[key]) body[key] = value;
    }
    try {
      const saved = await api("PATCH", `/api/console/library/${track.track_id}`, body);
      $("tags-dialog").close();
      say(`Saved the tags of ${saved.artist} – ${saved.title}.`);
      this.bus.emit("changed");
      this.refresh();
    } catch (err) {
      setText($("tags-error"), reason(err));
    }
  }

  async remove(track, label) {
    if (!window.confirm(`Remove ${label} from the library? The file is kept in the library's .removed folder.`)) return;
    try {
      await api("DELETE", `/api/console/library/${track.track_id}`);
      say(`Removed ${label}.`);
      this.bus.emit("changed");
      this.refresh();
    } catch (err) {
      say(reason(err));
    }
  }
}
