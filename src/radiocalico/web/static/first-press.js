// The first press of Play, from the moment the button is on screen. The player's modules
// (script.js and what it imports, hls.js among them) can take seconds to arrive over a slow
// link while the page already shows Play: a press then fell on a button with no listener
// and was lost, silently (WebKitGTK, 400 ms round trips: the page is shown, "interactive",
// 3 s before the modules run). This classic script, loaded before the page's body, keeps
// that press (listening on the document: the button is not parsed yet) and says it was
// heard; script.js takes over with `radiocalicoFirstPress()`, which tells whether Play is
// pressed and stops listening here.
//
// Played later, outside the press, the audio would be refused by WebKit ("Press play to
// listen."), which lets an element play only if a press asked it to: the press asks it
// here (as handover.js's `unlock`: no source yet, nothing is heard).
(() => {
  const TUNING_IN = "Tuning in to the station…";
  let pressed = false;
  const press = (event) => {
    const button = event.target instanceof Element ? event.target.closest("#play") : null;
    if (!button) return;
    pressed = !pressed;
    button.setAttribute("aria-label", pressed ? "Pause" : "Play");
    const audio = document.getElementById("audio");
    if (pressed && audio) {
      audio.play().catch(() => {});
      audio.pause();
    }
    const status = document.getElementById("status");
    if (status) status.textContent = pressed ? TUNING_IN : "";
  };
  document.addEventListener("click", press);
  window.radiocalicoFirstPress = () => {
    document.removeEventListener("click", press);
    return pressed;
  };
})();
