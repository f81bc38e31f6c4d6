/* Change your own password: POST /api/v1/me/password with the session's CSRF token. */
"use strict";
(() => {
  const _ = SG._;
  const form = document.getElementById("password-form");
  const message = document.getElementById("password-message");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const body = {current_password: f.get("current_password"), new_password: f.get("new_password"),
                  new_password_again: f.get("new_password_again")};
    if (body.new_password !== body.new_password_again) {
      SG.say(message, _("The new password and its repetition differ."), "error");
      return;
    }
    try {
      const out = await SG.api("POST", "/api/v1/me/password", body);
      form.reset();
      SG.say(message, _("Password changed. %(n)s other session(s) or token(s) were signed out.",
                        {n: out.sessions_ended}), "ok");
    } catch (err) {
      const detail = Array.isArray(err.details) && err.details.length ? err.details[0].message : err.message;
      SG.say(message, `${err.code}: ${detail}`, "error");
    }
  });
})();
