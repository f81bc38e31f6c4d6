/* The audit page: confirm or refuse grants of victim_data and admin (a second admin). */
"use strict";
(() => {
  const table = document.getElementById("grants-table");
  const message = document.getElementById("grants-message");
  if (!table) return;
  table.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    const id = encodeURIComponent(button.closest("tr").dataset.grant);
    const verb = button.classList.contains("confirm-grant") ? "confirm" : "refuse";
    try {
      await SG.api("POST", `/api/v1/users/grants/${id}/${verb}`);
      window.location.reload();
    } catch (err) { SG.say(message, `${err.code}: ${err.message}`, "error"); }
  });
})();
