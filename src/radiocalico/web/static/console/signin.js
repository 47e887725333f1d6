// Who is at the console: the session (and its CSRF token), the sign-in form for a visitor
// who is not signed in, and signing out. The server decides who may see the console: after
// signing in the page is loaded again and answers for the account.
import { $, setText } from "../dom.js";
import { api, reason, setCsrf } from "./http.js";

export async function whoIsHere() {
  try {
    const me = await api("GET", "/api/users/me");
    setCsrf(me.csrf_token);
    setText($("who-name"), me.user.display_name || me.user.username);
    $("who").hidden = false;
    $("sign-out").addEventListener("click", async () => {
      await api("DELETE", "/api/users/session").catch(() => {});
      window.location.reload();
    });
    return me.user;
  } catch (err) {
    if (err.status !== 401) throw err;
    showSignIn();
    return null;
  }
}

function showSignIn() {
  $("signin").hidden = false;
  const form = $("signin-form");
  $("signin-login").focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setText($("signin-error"), "");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await api("POST", "/api/users/session", { login: $("signin-login").value.trim(), password: $("signin-password").value });
      window.location.reload();
    } catch (err) {
      setText($("signin-error"), reason(err));
      button.disabled = false;
    }
  });
}
