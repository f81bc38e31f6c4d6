/* The map: vector layers of the record on a plain background (no tile server). */
"use strict";
(async () => {
  const box = document.getElementById("map");
  const statusBox = document.getElementById("map-status");
  const info = document.getElementById("feature-info");
  const staff = box.dataset.staff === "true";
  const STATUS = {open: "#c62828", worked_on: "#ef6c00", closed: "#2e7d32"};
  const RETURN = {returned: "#2e7d32", partial: "#e8a33d", not_returned: "#78909c"};
  const METHODS = ["#64b5f6", "#4db6ac", "#81c784", "#ba68c8", "#ffb74d", "#a1887f", "#90a4ae",
                   "#f06292"];
  const methodColour = {};
  const colourOf = (m) => methodColour[m] || (methodColour[m] =
    METHODS[Object.keys(methodColour).length % METHODS.length]);

  // no tile layers, so no zoom limit of their own: 19 is about a building
  const map = L.map(box, {preferCanvas: false, zoomSnap: 0.25, maxZoom: 19,
                          attributionControl: false});
  L.control.scale({metric: true, imperial: false, position: "bottomleft"}).addTo(map);
  // where the record is (the server puts the extent of what this user may see in the page)
  const extent = box.dataset.extent ? JSON.parse(box.dataset.extent) : null;
  if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], {padding: [20, 20]});
  else map.setView([40.0, 47.0], 9);

  function show(kind, props) {
    info.replaceChildren();
    const id = props.id;
    const title = SG.el("h3", {}, `${kind.replace(/_/g, " ")} ${id || ""}`);
    info.append(title);
    const t = SG.el("table", {class: "plain small"});
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || typeof v === "object") continue;
      t.append(SG.el("tr", {}, SG.el("th", {}, k.replace(/_/g, " ")), SG.el("td", {}, v)));
    }
    info.append(t);
    const types = {hazardous_areas: "hazardous_area", released_land: "land_release",
                   settlements: "settlement", accidents: "accident", ordnance: "ordnance"};
    if (staff && types[kind] && id) {
      info.append(SG.el("a", {href: `/objects/${types[kind]}/${encodeURIComponent(id)}`},
                        "Open the record and its history →"));
    }
  }

  function popup(kind) {
    return (feature, layer) => {
      layer.on("click", () => show(kind, feature.properties));
      const p = feature.properties;
      layer.bindTooltip(`${p.id}${p.name ? " · " + p.name : ""}`, {sticky: true});
    };
  }

  const options = {
    admin_areas: {
      style: () => ({color: "#6d7b8a", weight: 1.2, dashArray: "6 4", fill: false,
                     interactive: false, className: "sg-admin"})},
    hazardous_areas: {
      style: (f) => ({color: STATUS[f.properties.status] || "#555", weight: 1.5,
                      fillColor: STATUS[f.properties.status] || "#999", fillOpacity: 0.35,
                      dashArray: f.properties.classification === "SHA" ? "4 3" : null,
                      className: `sg-ha sg-ha-${f.properties.status}`}),
      onEachFeature: popup("hazardous_areas")},
    hazardous_area_points: {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 6, weight: 1, color: "#333",
        fillColor: STATUS[f.properties.status] || "#999", fillOpacity: 0.8,
        className: `sg-ha-point sg-ha-${f.properties.status}`}),
      onEachFeature: popup("hazardous_area_points")},
    released_land: {
      style: (f) => ({color: colourOf(f.properties.method), weight: 1,
                      fillColor: colourOf(f.properties.method), fillOpacity: 0.55,
                      className: "sg-released"}),
      onEachFeature: popup("released_land")},
    settlements: {
      pointToLayer: (f, ll) => L.circleMarker(ll, {
        radius: 3 + Math.sqrt((f.properties.displaced_population || 0) / 200),
        weight: 1, color: "#263238", fillOpacity: 0.6, className: "sg-settlement",
        fillColor: RETURN[f.properties.return_status] || "#78909c"}),
      onEachFeature: popup("settlements")},
    accidents: {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, weight: 2, color: "#fff",
        fillColor: "#111", fillOpacity: 1, className: "sg-accident"}),
      onEachFeature: popup("accidents")},
    ordnance: {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 2.5, weight: 0, fillColor: "#6a1b9a",
        fillOpacity: 0.9, className: "sg-item"}),
      onEachFeature: popup("ordnance")},
  };
  const titles = {admin_areas: "Districts", hazardous_areas: "Hazardous areas", hazardous_area_points:
    "Hazardous areas (generalised)", released_land: "Released land", settlements: "Settlements",
    accidents: "Accidents", ordnance: "Explosive items"};
  // drawn in this order: settlements under the areas, so every area stays clickable
  const order = ["admin_areas", "settlements", "released_land", "hazardous_areas", "hazardous_area_points",
                 "ordnance", "accidents"];
  const hiddenAtStart = new Set(["ordnance"]);

  // The layers are asked for the view only: the box shown, padded by PAD on each side, and
  // the zoom (the server simplifies lines and polygons for it). They are asked for again when
  // the map has moved out of what was loaded, or zoomed in by half a level or more (finer
  // shapes) or out by a whole level, once the map has been still for DEBOUNCE_MS.
  const PAD = 0.25, DEBOUNCE_MS = 250;
  const list = document.getElementById("layer-list");
  const legend = document.getElementById("method-legend");
  const drawn = {};
  let loaded = null, pending = null, timer = null, requests = 0;

  function layerFor(name) {
    if (drawn[name]) return drawn[name];
    const layer = drawn[name] = L.geoJSON(null, options[name]);
    if (!hiddenAtStart.has(name)) layer.addTo(map);
    const check = SG.el("input", {type: "checkbox", id: `layer-${name}`});
    check.checked = !hiddenAtStart.has(name);
    check.addEventListener("change", () => check.checked ? layer.addTo(map) : layer.remove());
    list.append(SG.el("label", {class: "layer"}, check, ` ${titles[name]} `,
                      SG.el("span", {class: "count", "data-layer": name}, 0)));
    return layer;
  }

  function wanted() {
    if (!loaded) return true;
    const z = map.getZoom();
    return !loaded.bounds.contains(map.getBounds()) || z >= loaded.zoom + 0.5 ||
      z <= loaded.zoom - 1;
  }

  function draw(data) {
    const counts = {};
    for (const name of order) {
      const fc = data.layers[name];
      if (!fc) continue;
      const layer = layerFor(name);
      layer.clearLayers();
      layer.addData(fc);
      counts[name] = fc.features.length;
      list.querySelector(`.count[data-layer="${name}"]`).textContent = fc.features.length;
    }
    legend.replaceChildren();
    for (const [m, c] of Object.entries(methodColour)) {
      const sw = SG.el("span", {class: "swatch"});
      sw.style.background = c;
      legend.append(SG.el("div", {}, sw, m));
    }
    if (!Object.keys(methodColour).length) legend.append(SG.el("div", {class: "muted small"}, "none yet"));
    const areaCount = counts.hazardous_areas ?? counts.hazardous_area_points ?? 0;
    statusBox.textContent = `In this view: ${areaCount} hazardous areas, ` +
      `${counts.released_land || 0} released parcels, ${counts.settlements || 0} settlements` +
      (staff ? `, ${counts.accidents || 0} accidents` : "") +
      (data.as_of ? ` (as known on ${data.as_of})` : "");
  }

  async function load() {
    if (!wanted()) return;
    const bounds = map.getBounds().pad(PAD), zoom = map.getZoom();
    const url = new URL(box.dataset.layersUrl, window.location.href);
    url.searchParams.set("bbox", [bounds.getWest(), bounds.getSouth(), bounds.getEast(),
                                  bounds.getNorth()].map((v) => v.toFixed(6)).join(","));
    url.searchParams.set("zoom", String(Math.round(zoom * 100) / 100));
    if (pending) pending.abort();
    const ctl = pending = new AbortController();
    let data;
    try {
      data = await SG.api("GET", url.pathname + url.search, undefined, {signal: ctl.signal});
    } catch (err) {
      if (err.name === "AbortError") return;
      if (pending === ctl) pending = null;
      statusBox.textContent = `Could not load the layers: ${err.code} ${err.message}`;
      return;
    }
    if (pending !== ctl) return;
    pending = null;
    draw(data);
    loaded = {bounds, zoom};
    box.dataset.requests = String(++requests);
    box.dataset.bbox = url.searchParams.get("bbox");
    box.dataset.loaded = "true";
  }

  map.on("moveend", () => {
    clearTimeout(timer);
    timer = setTimeout(load, DEBOUNCE_MS);
  });
  await load();
})();
