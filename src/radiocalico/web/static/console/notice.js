// Telling the operator what happened: one polite live region for the outcome of actions.
import { $, setText } from "../dom.js";

let timer = 0;

export function say(text) {
  const toast = $("toast");
  setText(toast, text);
  clearTimeout(timer);
  timer = setTimeout(() => setText(toast, ""), 6000);
}
