/* The Analysis page: make the plan again from the record, and follow the job until it ends. */
"use strict";
(() => {
  const form = document.getElementById("replan");
  const status = document.getElementById("replan-status");
  if (!form) return;
  const button = document.getElementById("replan-start");
  const POLL_MS = 1000;

  function show(job) {
    status.dataset.state = job.state;
    if (job.state === "running") {
      const why = job.trigger === "approval" ? "after reports approved by" : "asked by";
      SG.say(status, `A plan is being made (${why} ${job.by} at ${job.started})…`);
    } else if (job.state === "done") {
      const s = job.summary;
      SG.say(status, `Plan made from ${job.start} over ${job.horizon_weeks} weeks: ` +
        `${Math.round(s.people_returned_in_horizon).toLocaleString()} people able to return, ` +
        `${s.areas_released_in_horizon} areas released, ` +
        `${s.tasks_held_from_previous_plan} tasks held from the previous plan. Reloading…`, "ok");
    } else if (job.state === "failed") {
      SG.say(status, `The plan could not be made: ${job.error.code} ${job.error.message}`,
             "error");
    }
  }

  async function follow() {
    for (;;) {
      const job = await SG.api("GET", "/api/v1/plan/jobs/current");
      show(job);
      if (job.state !== "running") return job;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    button.disabled = true;
    try {
      show(await SG.api("POST", "/api/v1/plan/jobs", {
        start: f.get("start"), horizon_weeks: Number(f.get("horizon_weeks")),
        seconds: Number(f.get("seconds")), freeze_weeks: Number(f.get("freeze_weeks"))}));
      const job = await follow();
      if (job.state === "done") setTimeout(() => window.location.reload(), 1500);
    } catch (err) {
      SG.say(status, `The plan could not be made: ${err.code} ${err.message}`, "error");
    } finally {
      button.disabled = false;
    }
  });
  if (status.dataset.state === "running") follow();
})();
