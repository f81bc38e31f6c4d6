/* The Analysis page: make the plan again from the record, and follow the job until it ends. */
"use strict";
(() => {
  const _ = SG._;
  const form = document.getElementById("replan");
  const status = document.getElementById("replan-status");
  if (!form) return;
  const button = document.getElementById("replan-start");
  const POLL_MS = 1000;

  function show(job) {
    status.dataset.state = job.state;
    if (job.state === "running") {
      SG.say(status, job.trigger === "approval"
        ? _("A plan is being made (after reports approved by %(by)s at %(at)s)…", {by: job.by, at: job.started})
        : _("A plan is being made (asked by %(by)s at %(at)s)…", {by: job.by, at: job.started}));
    } else if (job.state === "done") {
      const s = job.summary;
      SG.say(status, _("Plan made from %(start)s over %(weeks)s weeks: %(people)s people able to " +
        "return, %(areas)s areas released, %(held)s tasks held from the previous plan. Reloading…",
        {start: job.start, weeks: job.horizon_weeks, people: SG.num(Math.round(s.people_returned_in_horizon)),
         areas: SG.num(s.areas_released_in_horizon), held: s.tasks_held_from_previous_plan}), "ok");
    } else if (job.state === "failed") {
      SG.say(status, _("The plan could not be made: %(error)s",
                       {error: `${job.error.code} ${job.error.message}`}), "error");
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
      SG.say(status, _("The plan could not be made: %(error)s", {error: `${err.code} ${err.message}`}),
             "error");
    } finally {
      button.disabled = false;
    }
  });
  if (status.dataset.state === "running") follow();
})();
