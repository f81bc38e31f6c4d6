/* The review queue: approve or reject submitted reports. */
"use strict";
(() => {
  const _ = SG._;
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
          done(row, SG.term("approved"), "decided-approved");
          SG.say(message, _("Report %(id)s approved and folded into the record.", {id}), "ok");
        } else {
          const out = (res.outcomes || []).find((o) => o.report_id === id) || {};
          const probs = out.problems || [];
          const what = SG.term(out.outcome || "refused");
          row.querySelector(".outcome").textContent =
            what + ": " + probs.map((p) => `${p.code} ${p.message || ""}`).join("; ");
          SG.say(message, out.outcome === "already_decided"
            ? _("Report %(id)s was already %(status)s by %(user)s.",
                {id, status: SG.term(out.status), user: out.decided_by})
            : _("Report %(id)s was not approved: %(what)s.", {id, what}), "warn");
        }
      } else if (button.classList.contains("reject")) {
        const note = window.prompt(_("Why is report %(id)s rejected?", {id}));
        if (!note) return;
        await SG.api("POST", "/api/v1/reports/reject", {ids: [id], note});
        done(row, SG.term("rejected"), "decided-rejected");
        SG.say(message, _("Report %(id)s rejected.", {id}), "ok");
      }
    } catch (err) {
      SG.say(message, `${err.code}: ${err.message}`, "error");
    }
  });
})();
