/* The review queue: approve or reject submitted reports. */
"use strict";
(() => {
  const message = document.getElementById("review-message");
  const table = document.getElementById("review-table");
  if (!table) return;

  function done(row, text, kind) {
    row.querySelector(".outcome").textContent = text;
    row.classList.add(kind);
    row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  }

  table.addEventListener("click", async (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    const id = Number(button.dataset.id);
    const row = button.closest("tr");
    try {
      if (button.classList.contains("approve")) {
        const res = await SG.api("POST", "/api/v1/reports/approve", {ids: [id]});
        if (res.approved.includes(id)) {
          done(row, "approved", "decided-approved");
          SG.say(message, `Report ${id} approved and folded into the record.`, "ok");
        } else {
          const probs = (res.refused[0] || {}).problems || [];
          row.querySelector(".outcome").textContent =
            "refused: " + probs.map((p) => `${p.code} ${p.message || ""}`).join("; ");
          SG.say(message, `Report ${id} was refused by the land release rules.`, "warn");
        }
      } else if (button.classList.contains("reject")) {
        const note = window.prompt(`Why is report ${id} rejected?`);
        if (!note) return;
        await SG.api("POST", "/api/v1/reports/reject", {ids: [id], note});
        done(row, "rejected", "decided-rejected");
        SG.say(message, `Report ${id} rejected.`, "ok");
      }
    } catch (err) {
      SG.say(message, `${err.code}: ${err.message}`, "error");
    }
  });
})();
