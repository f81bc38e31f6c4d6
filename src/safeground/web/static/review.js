/* The review queue: accept a report's proposal (link, update, duplicate), approve or reject
 * one report or many with a note; each report's outcome and the counts shown as they come. */
"use strict";
(() => {
  const message = document.getElementById("review-message");
  const strings = (document.getElementById("review-strings") || {}).dataset || {};
  const table = document.getElementById("review-table");
  const count = document.getElementById("queue-count");
  const noteBox = document.getElementById("decision-note");

  /** a translated string from the page, with %(name)s filled in */
  function t(key, values) {
    const name = key.replace(/-([a-z])/g, (_, c) => c.toUpperCase());   // data-a-b: aB
    let s = strings[name] || key;
    for (const [k, v] of Object.entries(values || {})) s = s.split(`%(${k})s`).join(String(v));
    return s;
  }

  function counts(c) {
    if (!c || !count) return;
    count.dataset.waiting = c.waiting;
    count.textContent = t("waiting", {n: c.waiting});
  }

  function rowOf(id) { return document.getElementById(`report-${id}`); }

  function done(id, text, kind) {
    const row = rowOf(id);
    if (!row) return;
    row.querySelector(".outcome").textContent = text;
    row.classList.add(kind);
    row.querySelectorAll("button, input.pick").forEach((b) => { b.disabled = true; });
    const pick = row.querySelector("input.pick");
    if (pick) pick.checked = false;
  }

  function problemsText(probs) {
    return (probs || []).map((p) => `${p.code} ${p.message || ""}`.trim()).join("; ");
  }

  async function approve(ids, links) {
    const body = {ids};
    const note = noteBox ? noteBox.value.trim() : "";
    if (note) body.note = note;
    if (links && Object.keys(links).length) body.links = links;
    const res = await SG.api("POST", "/api/v1/reports/approve", body);
    for (const out of res.outcomes || []) {
      if (out.outcome === "approved") {
        const target = links && links[out.report_id];
        done(out.report_id, target ? t("approved-linked", {target}) : t("approved"),
             "decided-approved");
      } else {
        const row = rowOf(out.report_id);
        if (row) row.querySelector(".outcome").textContent =
          `${out.outcome.replace("_", " ")}: ${problemsText(out.problems)}`;
        if (out.outcome === "already_decided") done(out.report_id,
          `${out.status} (${out.decided_by})`, `decided-${out.status}`);
      }
    }
    counts(res.counts);
    const refused = (res.outcomes || []).length - res.approved.length;
    SG.say(message, t("summary", {approved: res.approved.length, refused, rejected: 0}),
           refused ? "warn" : "ok");
  }

  async function reject(ids, note) {
    if (!note) { SG.say(message, t("note-needed"), "warn"); if (noteBox) noteBox.focus(); return; }
    const res = await SG.api("POST", "/api/v1/reports/reject", {ids, note});
    ids.forEach((id) => done(id, `${t("rejected")}: ${note}`, "decided-rejected"));
    counts(res.counts);
    SG.say(message, t("summary", {approved: 0, refused: 0, rejected: res.rejected}), "ok");
  }

  function selected() {
    return [...document.querySelectorAll("input.pick:checked")].map((b) => Number(b.value));
  }

  async function guarded(fn) {
    try { await fn(); } catch (err) { SG.say(message, `${err.code}: ${err.message}`, "error"); }
  }

  if (table) table.addEventListener("click", (ev) => {
    const button = ev.target.closest("button");
    if (!button) return;
    const id = Number(button.dataset.id);
    const note = noteBox ? noteBox.value.trim() : "";
    guarded(async () => {
      if (button.classList.contains("approve-link")) await approve([id], {[id]: button.dataset.target});
      else if (button.classList.contains("approve")) await approve([id]);
      else if (button.classList.contains("reject-duplicate")) {
        const row = rowOf(id);
        const why = [...row.querySelectorAll("ul.reasons li")].map((li) => li.textContent).join("; ");
        const base = t("duplicate-note", {target: button.dataset.target});
        await reject([id], [base, why, note].filter(Boolean).join(" — "));
      } else if (button.classList.contains("reject")) await reject([id], note);
    });
  });

  const all = document.getElementById("select-all");
  if (all) all.addEventListener("change", () => {
    document.querySelectorAll("input.pick:not(:disabled)").forEach((b) => { b.checked = all.checked; });
  });

  const approveSel = document.getElementById("approve-selected");
  if (approveSel) approveSel.addEventListener("click", () => guarded(async () => {
    const ids = selected();
    if (!ids.length) { SG.say(message, t("none-selected"), "warn"); return; }
    const links = {};
    if (document.getElementById("accept-links").checked) {
      for (const id of ids) {
        const row = rowOf(id);
        if (row.dataset.action === "link" && row.dataset.target) links[id] = row.dataset.target;
      }
    }
    await approve(ids, links);
  }));

  const rejectSel = document.getElementById("reject-selected");
  if (rejectSel) rejectSel.addEventListener("click", () => guarded(async () => {
    const ids = selected();
    if (!ids.length) { SG.say(message, t("none-selected"), "warn"); return; }
    await reject(ids, noteBox ? noteBox.value.trim() : "");
  }));

  const bring = document.getElementById("bring-proposals");
  if (bring) bring.addEventListener("click", () => guarded(async () => {
    bring.disabled = true;
    const res = await SG.api("POST", "/api/v1/review/classification-proposals");
    SG.say(message, t("drafts", {n: res.submitted.length, skipped: res.skipped}), "ok");
    counts(res.counts);
    if (res.submitted.length) window.location.reload();
    else bring.disabled = false;
  }));
})();
