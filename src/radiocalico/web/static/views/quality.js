// The quality control (a labelled <select>: Auto, Lossless, High, Data saver, with the
// choices this browser or stream cannot play disabled and the reason shown under it) and the
// stream quality heard. The listener's choice goes to `controls.choose(value)`.
import { $, setText } from "../dom.js";

export class QualityView {
  constructor(controls) {
    this.select = $("quality-choice");
    this.note = $("quality-note");
    this.heard = $("stream-quality");
    this.select.addEventListener("change", () => controls.choose(this.select.value));
  }

  // {choice, options: [{value, label, disabled}], heard (text or null), note}
  render({ choice, options, heard, note }) {
    const current = [...this.select.options].map((o) => `${o.value}:${o.label}:${o.disabled}`).join();
    const wanted = options.map((o) => `${o.value}:${o.label}:${o.disabled}`).join();
    if (current !== wanted) {
      // Rebuilt only when the options change, so that an open list or focus is not disturbed.
      this.select.replaceChildren(...options.map(({ value, label, disabled }) => new Option(label, value)));
      options.forEach(({ disabled }, i) => { this.select.options[i].disabled = disabled; });
    }
    if (this.select.value !== choice) this.select.value = choice;
    setText(this.note, note);
    this.note.hidden = !note;
    if (heard) setText(this.heard, heard);
  }
}
