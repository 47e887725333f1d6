// The status line under the player (a polite live region: role="status").
import { $ } from "../dom.js";

export function renderStatus({ text, kind }) {
  const line = $("status");
  line.textContent = text;
  line.dataset.kind = kind;
}
