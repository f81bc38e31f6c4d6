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
          const out = (res.outcomes || []).find((o) => o.report_id === id) || {};
          const probs = out.problems || [];
          const what = (out.outcome || "refused").replace("_", " ");
          row.querySelector(".outcome").textContent =
            what + ": " + probs.map((p) => `${p.code} ${p.message || ""}`).join("; ");
          SG.say(message, out.outcome === "already_decided"
            ? `Report ${id} was already ${out.status} by ${out.decided_by}.`
            : `Report ${id} was not approved: ${what}.`, "warn");
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
