/* Users: add, change roles, deactivate (admin). */
"use strict";
(() => {
  const _ = SG._;
  const message = document.getElementById("users-message");
  const roles = (text) => text.split(/[,\s]+/).filter(Boolean);
  document.getElementById("add-user").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      await SG.api("POST", "/api/v1/users", {name: f.get("name"), password: f.get("password"),
                                             roles: roles(f.get("roles"))});
      window.location.reload();
    } catch (err) { SG.say(message, `${err.code}: ${err.message}`, "error"); }
  });
  document.getElementById("users-table").addEventListener("click", async (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    const row = button.closest("tr");
    const name = encodeURIComponent(row.dataset.user);
    try {
      if (button.classList.contains("save-roles")) {
        const u = await SG.api("PUT", `/api/v1/users/${name}/roles`,
                               {roles: roles(row.querySelector(".roles").value)});
        const waiting = (u.pending_grants || []).flatMap((g) => g.roles);
        SG.say(message, waiting.length ?
          _("Roles of %(user)s saved; %(roles)s waits for a second admin (audit page).",
            {user: row.dataset.user, roles: waiting.join(", ")}) :
          _("Roles of %(user)s saved.", {user: row.dataset.user}), "ok");
      } else {
        await SG.api("PUT", `/api/v1/users/${name}/active`,
                     {active: button.dataset.active === "true"});
        window.location.reload();
      }
    } catch (err) { SG.say(message, `${err.code}: ${err.message}`, "error"); }
  });
})();
