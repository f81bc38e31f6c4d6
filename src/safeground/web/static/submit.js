/* The New report page: a form made from the report type's fields, its place drawn on the map
 * (a small draw tool of our own over the vendored Leaflet), pasted as coordinates or taken
 * from a file; submitted through the gate with the accident's victims. */
"use strict";
(() => {
  const form = document.getElementById("report-form");
  if (!form) return;
  const strings = document.getElementById("submit-strings").dataset;
  const message = document.getElementById("submit-message");
  const rtype = form.dataset.type;
  let geometry = null;

  function t(key, values) {
    let s = strings[key] || key;
    for (const [k, v] of Object.entries(values || {})) s = s.split(`%(${k})s`).join(String(v));
    return s;
  }

  // ------------------------------------------------------------------ the map and draw tool
  const box = document.getElementById("draw-map");
  let map = null;
  let shown = null;
  let sketch = null;
  let shape = null;
  let vertices = [];
  const status = document.getElementById("geometry-status");
  const geomProblem = document.querySelector('[data-problem="geometry"]');

  function showGeometry(g) {
    geometry = g;
    if (!map) return;
    if (shown) shown.remove();
    shown = null;
    if (g) {
      shown = L.geoJSON(g, {
        style: {color: "#1e3a5f", weight: 2, fillOpacity: 0.15, className: "sg-drawn"},
        pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 7, color: "#1e3a5f",
                                                     className: "sg-drawn"}),
      }).addTo(map);
      const b = shown.getBounds();
      if (b.isValid()) map.fitBounds(b, {padding: [30, 30], maxZoom: 15});
    }
    box.dataset.geometry = g ? g.type : "";
    status.textContent = g ? g.type : "";
    if (geomProblem) geomProblem.textContent = "";
  }

  function redrawSketch() {
    if (sketch) sketch.remove();
    sketch = L.layerGroup().addTo(map);
    const lls = vertices.map(([x, y]) => [y, x]);
    lls.forEach((ll) => L.circleMarker(ll, {radius: 4, color: "#b3261e"}).addTo(sketch));
    if (lls.length > 1) {
      (shape === "polygon" ? L.polygon : L.polyline)(lls, {color: "#b3261e", weight: 2,
                                                         dashArray: "4 4"}).addTo(sketch);
    }
    status.textContent = shape ? `${shape}: ${t("vertices", {n: vertices.length})}` : "";
  }

  function startDrawing(s) {
    shape = s;
    vertices = [];
    document.querySelectorAll("button.draw").forEach((b) => {
      b.classList.toggle("active", b.dataset.shape === s);
    });
    box.style.cursor = "crosshair";
    redrawSketch();
  }

  function finish() {
    if (!shape) return;
    let g = null;
    if (shape === "line" && vertices.length >= 2) g = {type: "LineString", coordinates: vertices};
    if (shape === "polygon" && vertices.length >= 3) {
      g = {type: "Polygon", coordinates: [[...vertices, vertices[0]]]};
    }
    stopDrawing();
    if (g) showGeometry(g);
  }

  function stopDrawing() {
    shape = null;
    vertices = [];
    if (sketch) sketch.remove();
    sketch = null;
    box.style.cursor = "";
    document.querySelectorAll("button.draw").forEach((b) => b.classList.remove("active"));
  }

  if (box) {
    map = L.map(box, {attributionControl: false, doubleClickZoom: false});
    L.control.scale({metric: true, imperial: false}).addTo(map);
    const extent = box.dataset.extent ? JSON.parse(box.dataset.extent) : null;
    if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
    else map.setView([0, 0], 2);
    // the hazardous areas for orientation (not clickable: a click always places the shape)
    SG.api("GET", "/api/v1/map/layers?layers=hazardous_areas&detail=map").then((data) => {
      const fc = data.layers ? data.layers.hazardous_areas : data.hazardous_areas;
      if (fc) L.geoJSON(fc, {interactive: false, style: (f) => ({
        color: f.properties.classification === "CHA" ? "#b3261e" : "#e8a33d", weight: 1,
        fillOpacity: 0.12, dashArray: f.properties.classification === "SHA" ? "4 3" : null,
        className: "sg-context"})}).addTo(map);
      box.dataset.loaded = "true";
    }).catch(() => { box.dataset.loaded = "true"; });
    map.on("click", (ev) => {
      if (!shape) return;
      const v = [Number(ev.latlng.lng.toFixed(7)), Number(ev.latlng.lat.toFixed(7))];
      if (shape === "point") {
        stopDrawing();
        showGeometry({type: "Point", coordinates: v});
        return;
      }
      vertices.push(v);
      redrawSketch();
    });
    document.querySelectorAll("button.draw").forEach((b) => {
      b.addEventListener("click", () => startDrawing(b.dataset.shape));
    });
    document.getElementById("draw-finish").addEventListener("click", finish);
    document.getElementById("draw-clear").addEventListener("click", () => {
      stopDrawing();
      showGeometry(null);
    });
    const initial = JSON.parse(document.getElementById("initial-geometry").textContent);
    if (initial) showGeometry(initial);

    document.getElementById("coord-use").addEventListener("click", async () => {
      try {
        const res = await SG.api("POST", "/api/v1/geometry/parse", {
          text: document.getElementById("coord-text").value,
          system: document.getElementById("coord-system").value,
          shape: document.getElementById("coord-shape").value,
          zone: document.getElementById("coord-zone").value || null});
        showGeometry(res.geometry);
      } catch (err) {
        geomProblem.textContent = problemText(err);
      }
    });
    document.getElementById("geometry-file").addEventListener("change", async (ev) => {
      const file = ev.target.files[0];
      if (!file) return;
      const data = new FormData();
      data.append("file", file);
      const res = await fetch("/api/v1/geometry/file", {method: "POST", body: data,
        credentials: "same-origin", headers: {"X-CSRF-Token": SG.csrf, "Accept": "application/json"}});
      const body = await res.json().catch(() => ({}));
      if (res.ok) showGeometry(body.geometry);
      else geomProblem.textContent = problemText(body.error || {});
    });
  }

  function problemText(err) {
    const details = Array.isArray(err.details) ? err.details : [];
    return details.length ? details.map((p) => p.message || p.code).join("; ")
      : `${err.code || ""} ${err.message || ""}`.trim();
  }

  // ------------------------------------------------------------------------------ victims
  const list = document.getElementById("victim-list");
  const template = document.getElementById("victim-template");
  let victimCount = 0;
  if (list && template) {
    document.getElementById("add-victim").addEventListener("click", () => {
      victimCount += 1;
      const node = template.content.firstElementChild.cloneNode(true);
      node.dataset.victim = String(victimCount);
      node.querySelectorAll("[id]").forEach((el) => { el.id = `${el.id}-${victimCount}`; });
      const accident = form.querySelector('[name="object_id"]').value || "VIC";
      node.querySelector('[name="object_id"]').value = `${accident}-V${victimCount}`;
      node.querySelector(".remove-victim").addEventListener("click", () => node.remove());
      list.append(node);
    });
  }

  // ------------------------------------------------------------------------- the record
  function values(scope) {
    const out = {};
    for (const el of scope.querySelectorAll("input[name], select[name], textarea[name]")) {
      if (el.closest("fieldset.victim") && !scope.classList.contains("victim")) continue;
      const v = el.value.trim();
      if (v === "") continue;
      const kind = el.dataset.kind;
      if (kind === "int" || kind === "float") out[el.name] = Number(v);
      else if (kind === "bool") out[el.name] = v === "true";
      else out[el.name] = v;
    }
    for (const group of scope.querySelectorAll('[data-kind="choices"]')) {
      if (group.closest("fieldset.victim") && !scope.classList.contains("victim")) continue;
      const picked = [...group.querySelectorAll("input:checked")].map((c) => c.value);
      if (picked.length) out[group.dataset.name] = picked;
    }
    return out;
  }

  function clearProblems() {
    form.querySelectorAll(".field-problem").forEach((el) => { el.textContent = ""; });
  }

  function mark(scope, problems) {
    for (const p of problems) {
      const where = p.field && scope.querySelector(`[data-problem="${p.field}"]`);
      if (where) where.textContent = p.message;
      else if (p.field === "geometry" && geomProblem) geomProblem.textContent = p.message;
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblems();
    const main = {report_type: rtype, ...values(form)};
    if (geometry) main.geometry = geometry;
    const victims = [...form.querySelectorAll("fieldset.victim")];
    const records = [main, ...victims.map((v) => ({
      report_type: "victim", date_of_information: main.date_of_information,
      organisation: main.organisation, author: main.author, accident_id: main.object_id,
      ...values(v)}))];
    const button = document.getElementById("submit-report");
    button.disabled = true;
    try {
      const res = await SG.api("POST", "/api/v1/reports", {records});
      const refused = res.rejected || [];
      for (const r of refused) {
        const n = Number(String(r.where).replace(/\D+/g, "")) || 1;
        mark(n === 1 ? form : victims[n - 2], r.problems || []);
      }
      if (refused.length) {
        SG.say(message, t("refused") + " " + refused.map((r) =>
          `${r.where}: ${(r.problems || []).map((p) => p.message).join("; ")}`).join(" | "),
          "error");
        form.dataset.outcome = "refused";
      } else {
        SG.say(message, t("sent", {ids: res.accepted.join(", ")}), "ok");
        form.dataset.outcome = "submitted";
        form.dataset.reports = res.accepted.join(",");
      }
    } catch (err) {
      SG.say(message, `${err.code}: ${err.message}`, "error");
      if (Array.isArray(err.details)) mark(form, err.details);
    } finally {
      button.disabled = false;
    }
  });
})();
