// The account dialog: sign up, sign in, sign out, my liked songs, delete my account.
import { api, currentUser, mightBeSignedIn, onSessionChange, setSession } from "./api.js";

const $ = (id) => document.getElementById(id);

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

export class Account {
  constructor() {
    this.dialog = $("account-dialog");
    this.message = $("account-message");
    $("account-open").addEventListener("click", () => this.open());
    $("account-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close(); // a click on the backdrop
    });
    for (const tab of this.dialog.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => this.selectTab(tab));
      tab.addEventListener("keydown", (event) => {
        if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
          const other = tab.id === "tab-signin" ? $("tab-signup") : $("tab-signin");
          this.selectTab(other);
          other.focus();
        }
      });
    }
    this.handle($("form-signin"), async (values) => {
      const data = await api("POST", "/api/users/session", { login: values.login.trim(), password: values.password });
      setSession(data.user, data.csrf_token);
    });
    this.handle($("form-signup"), async (values) => {
      const body = { username: values.username.trim(), email: values.email.trim(), password: values.password };
      if (values.display_name.trim()) body.display_name = values.display_name.trim();
      const data = await api("POST", "/api/users", body);
      setSession(data.user, data.csrf_token);
    });
    this.handle($("form-delete"), async (values) => {
      await api("DELETE", "/api/users/me", { password: values.password });
      setSession(null);
      this.say("Your account and everything in it is deleted.", "ok");
    });
    $("sign-out").addEventListener("click", async () => {
      try {
        await api("DELETE", "/api/users/session");
      } catch { /* signed out here either way */ }
      setSession(null);
      this.say("You are signed out.", "ok");
    });
    onSessionChange((user) => this.render(user));
  }

  // Restore a session from the cookie, without a 401 for visitors who never signed in.
  async restore() {
    if (!mightBeSignedIn()) return;
    try {
      const data = await api("GET", "/api/users/me");
      setSession(data.user, data.csrf_token);
    } catch (err) {
      if (err.status === 401) setSession(null);
    }
  }

  open() {
    this.say("");
    this.dialog.showModal();
    this.render(currentUser());
  }

  selectTab(tab) {
    for (const other of this.dialog.querySelectorAll('[role="tab"]')) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    this.say("");
  }

  say(text, kind = "error") {
    this.message.textContent = text;
    this.message.dataset.kind = kind;
  }

  handle(form, action) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
      const invalid = [...form.querySelectorAll("input")].find((input) => !input.checkValidity());
      if (invalid) {
        invalid.setAttribute("aria-invalid", "true");
        const label = form.querySelector(`label[for="${invalid.id}"]`)?.firstChild?.textContent.trim() ?? invalid.name;
        this.say(`${label}: ${invalid.validationMessage}`);
        invalid.focus();
        return;
      }
      const button = form.querySelector('[type="submit"]');
      button.disabled = true;
      this.say("");
      try {
        await action(formValues(form));
        form.reset();
      } catch (err) {
        const fields = (err.fields ?? []).map((f) => `${f.field}: ${f.message}`);
        for (const f of err.fields ?? []) form.querySelector(`[name="${f.field}"]`)?.setAttribute("aria-invalid", "true");
        this.say([err.message, ...fields].join(" "));
      } finally {
        button.disabled = false;
      }
    });
  }

  async render(user) {
    $("account-label").textContent = user ? (user.display_name || user.username) : "Sign in";
    $("account-signed-out").hidden = Boolean(user);
    $("account-signed-in").hidden = !user;
    if (!user) return;
    $("account-name").textContent = user.display_name ? `${user.display_name} (${user.username})` : user.username;
    if (!this.dialog.open) return;
    const list = $("likes-list");
    try {
      const data = await api("GET", "/api/users/me/likes");
      list.replaceChildren(...data.songs.map((song) => {
        const li = document.createElement("li");
        const artist = document.createElement("span");
        artist.className = "likes__artist";
        artist.textContent = `${song.artist}: `;
        const title = document.createElement("cite");
        title.textContent = song.title;
        li.append(artist, title);
        return li;
      }));
      $("likes-empty").hidden = data.songs.length > 0;
    } catch (err) {
      this.say(`Your liked songs could not be loaded: ${err.message}`);
    }
  }
}
