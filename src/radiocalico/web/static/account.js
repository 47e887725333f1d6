// The listener's account: sign up, sign in, sign out, restore the session on load, my liked
// songs, delete my account. Owns what the account dialog shows.
//
// Events: "change" (detail: the state, see below).
import { Emitter } from "./events.js";

export class Account extends Emitter {
  constructor(client, session) {
    super();
    this.client = client;
    this.session = session;
    this.state = {
      user: null, // the signed-in user ({username, display_name}), or null
      open: false, // whether the dialog is open
      likes: null, // my liked songs ({artist, title}), once loaded
      message: { text: "", kind: "error" },
    };
    session.on("change", (user) => {
      this.state.user = user;
      this.changed();
      if (user && this.state.open) this.loadLikes();
    });
  }

  changed() {
    this.emit("change", this.state);
  }

  say(text, kind = "error") {
    this.state.message = { text, kind };
    this.changed();
  }

  open() {
    this.state.open = true;
    this.say("");
    if (this.state.user) this.loadLikes();
  }

  close() {
    if (!this.state.open) return;
    this.state.open = false;
    this.changed();
  }

  async loadLikes() {
    try {
      this.state.likes = (await this.client.likes()).songs;
      this.changed();
    } catch (err) {
      this.say(`Your liked songs could not be loaded: ${err.message}`);
    }
  }

  // Restore a session from the cookie, without a 401 for visitors who never signed in.
  async restore() {
    if (!this.session.mightBeSignedIn()) return;
    try {
      const data = await this.client.me();
      this.session.set(data.user, data.csrf_token);
    } catch (err) {
      if (err.status === 401) this.session.set(null);
    }
  }

  // The form actions below throw the API's error for the form to show.
  async signIn({ login, password }) {
    const data = await this.client.signIn({ login: login.trim(), password });
    this.session.set(data.user, data.csrf_token);
  }

  // The answer does not tell whether the e-mail address already had an account (see
  // api/users.py): the session does. Signed in, the account is new; if not, the server's
  // message says to sign in instead.
  async signUp({ username, email, password, display_name: displayName }) {
    const account = { username: username.trim(), email: email.trim(), password };
    if (displayName.trim()) account.display_name = displayName.trim();
    const { message } = await this.client.signUp(account);
    try {
      const data = await this.client.me();
      this.session.set(data.user, data.csrf_token);
    } catch (err) {
      if (err.status !== 401) throw err;
      this.say(message, "ok");
    }
  }

  async deleteAccount({ password }) {
    await this.client.deleteAccount(password);
    this.session.set(null);
    this.say("Your account and everything in it is deleted.", "ok");
  }

  async signOut() {
    try {
      await this.client.signOut();
    } catch { /* signed out here either way */ }
    this.session.set(null);
    this.say("You are signed out.", "ok");
  }
}
