// The account button and dialog, drawn from the account's state. Its forms check their own
// fields, then hand the values to the account; the API's answer comes back as state (the
// message) or, for a refused field, as the error the action throws.
import { $, el, setText } from "../dom.js";

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// Without a display name of its own the server stores the username as one (api/users.py):
// "x (x)" says nothing, the e-mail address says which account this is.
function signedInAs({ username, email, display_name: name }) {
  return name && name !== username ? `${name} (${username})` : email || username;
}

export class AccountDialog {
  constructor(account) {
    this.account = account;
    this.dialog = $("account-dialog");
    this.drawnLikes = null;
    $("account-open").addEventListener("click", () => account.open());
    $("account-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close(); // a click on the backdrop
    });
    this.dialog.addEventListener("close", () => account.close()); // also Escape
    // The tabs follow the ARIA tabs pattern: one tab stop, arrows/Home/End move between tabs
    // (selecting as they go), and choosing a tab with a click, Enter or Space takes the
    // listener into its form, since a tab by itself is only a way there.
    this.tabs = [...this.dialog.querySelectorAll('[role="tab"]')];
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => {
        this.account.say(""); // the other form's message is not this one's
        this.selectTab(tab, { enter: true });
      });
      tab.addEventListener("keydown", (event) => {
        const next = this.neighbour(tab, event.key);
        if (!next) return;
        event.preventDefault();
        this.account.say("");
        this.selectTab(next);
        next.focus();
      });
    }
    this.handle($("form-signin"), (values) => account.signIn(values));
    this.handle($("form-signup"), (values) => account.signUp(values));
    this.handle($("form-delete"), (values) => account.deleteAccount(values));
    $("sign-out").addEventListener("click", () => account.signOut());
  }

  neighbour(tab, key) {
    const i = this.tabs.indexOf(tab);
    const n = this.tabs.length;
    const at = { ArrowRight: i + 1, ArrowLeft: i - 1 + n, Home: 0, End: n - 1 }[key];
    return at === undefined ? null : this.tabs[at % n];
  }

  selectTab(tab, { enter = false } = {}) {
    for (const other of this.tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (enter) this.focusForm();
  }

  // The first field of the form on show (sign in or sign up).
  focusForm() {
    const tab = this.tabs.find((t) => t.getAttribute("aria-selected") === "true");
    $(tab.getAttribute("aria-controls")).querySelector("input")?.focus();
  }

  handle(form, action) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
      const invalid = [...form.querySelectorAll("input")].find((input) => !input.checkValidity());
      if (invalid) {
        invalid.setAttribute("aria-invalid", "true");
        const label = form.querySelector(`label[for="${invalid.id}"]`)?.firstChild?.textContent.trim() ?? invalid.name;
        this.account.say(`${label}: ${invalid.validationMessage}`);
        invalid.focus();
        return;
      }
      const button = form.querySelector('[type="submit"]');
      button.disabled = true;
      this.account.say("");
      try {
        await action(formValues(form));
        form.reset();
      } catch (err) {
        const fields = (err.fields ?? []).map((f) => `${f.field}: ${f.message}`);
        for (const f of err.fields ?? []) form.querySelector(`[name="${f.field}"]`)?.setAttribute("aria-invalid", "true");
        this.account.say([err.message, ...fields].join(" "));
      } finally {
        button.disabled = false;
      }
    });
  }

  render({ user, open, likes, message }) {
    setText($("account-label"), user ? (user.display_name || user.username) : "Sign in");
    const signedOut = !user && !$("account-signed-in").hidden; // just now, in the open dialog
    $("account-signed-out").hidden = Boolean(user);
    $("account-signed-in").hidden = !user;
    if (user) setText($("account-name"), signedInAs(user));
    const opening = open && !this.dialog.open;
    if (opening) this.dialog.showModal();
    // Opening the dialog or signing out shows the sign-in form, with the focus in it (the
    // sign-out button the focus was on is gone).
    if (!user && (opening || (signedOut && this.dialog.open))) this.selectTab($("tab-signin"), { enter: true });
    if (!open && this.dialog.open) this.dialog.close();
    if (likes && likes !== this.drawnLikes) {
      this.drawnLikes = likes;
      $("likes-list").replaceChildren(...likes.map((song) => el("li", {},
        el("span", { className: "likes__artist", text: `${song.artist}: ` }),
        el("cite", { text: song.title }))));
      $("likes-empty").hidden = likes.length > 0;
    }
    const line = $("account-message");
    setText(line, message.text);
    line.dataset.kind = message.kind;
  }
}
