/* The Import page: upload a file, follow the import job, show its summary and rejects. */
"use strict";
(() => {
  const form = document.getElementById("import-form");
  if (!form) return;
  const strings = document.getElementById("import-strings").dataset;
  const message = document.getElementById("import-message");
  const box = document.getElementById("import-progress");
  const bar = document.getElementById("import-bar");
  const step = document.getElementById("import-step");
  const button = document.getElementById("import-start");
  const POLL_MS = 700;

  function show(summary, job) {
    const sec = document.getElementById("import-summary");
    document.getElementById("summary-file").textContent = summary.path || "";
    for (const node of sec.querySelectorAll("[data-count]")) {
      node.textContent = String(summary[node.dataset.count] || 0);
    }
    const link = document.getElementById("rejects-link");
    link.href = job.result;
    const rej = document.querySelector("#rejections tbody");
    rej.replaceChildren(...(summary.rejections || []).map((r) => SG.el("tr", {},
      SG.el("td", {}, r.where),
      SG.el("td", {}, r.problems.map((p) => `${p.code}: ${p.message}`).join(" | ")))));
    const rev = document.querySelector("#reviews tbody");
    rev.replaceChildren(...(summary.reviews || []).map((r) => SG.el("tr", {},
      SG.el("td", {}, r.where), SG.el("td", {}, String(r.report_id)),
      SG.el("td", {}, r.reasons.join("; ")))));
    sec.hidden = false;
    if (summary.refused) {
      SG.say(message, `${strings.refused} ${summary.refused.code}: ${summary.refused.message}`,
             "error");
    } else {
      SG.say(message, "", "");
    }
  }

  async function upload(data, params) {
    const res = await fetch(`/api/v1/import-jobs?${params}`, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRF-Token": SG.csrf, "Accept": "application/json"}});
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw (body.error || {code: "HTTP_" + res.status, message: res.statusText});
    return body;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const params = new URLSearchParams();
    if (f.get("type")) params.set("type", f.get("type"));
    if (f.get("crs")) params.set("crs", f.get("crs"));
    const data = new FormData();
    data.append("file", f.get("file"));
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    step.textContent = strings.reading;
    document.getElementById("import-summary").hidden = true;
    try {
      let job = await upload(data, params);
      while (job.state === "waiting" || job.state === "running") {
        bar.value = job.progress;
        step.textContent = job.step;
        await new Promise((r) => setTimeout(r, POLL_MS));
        job = await SG.api("GET", job.href);
      }
      bar.value = 1;
      step.textContent = job.step;
      if (job.state === "failed") {
        SG.say(message, `${strings.failed} ${job.error.code} ${job.error.message}`, "error");
      } else {
        show(job.summary, job);
      }
    } catch (err) {
      SG.say(message, `${strings.failed} ${err.code} ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
})();
