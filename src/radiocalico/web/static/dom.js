// The page's one DOM helper: find an element by id, make one with its class and text.
// Text always goes in through textContent, never as HTML.

export const $ = (id) => document.getElementById(id);

// `dir`: "auto" for text of any script (an Arabic or Hebrew title among Latin ones).
export function el(tag, { className = "", text = null, dir = "" } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (dir) node.dir = dir;
  if (text !== null) node.textContent = text;
  node.append(...children);
  return node;
}

// Set a node's text only when it differs, so that redrawing a view from unchanged state
// does not touch live regions (a screen reader may read a rewritten alert again).
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
