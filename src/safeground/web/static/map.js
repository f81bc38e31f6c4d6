/* The map: vector layers of the record on a plain background (no tile server). */
"use strict";
(async () => {
  const box = document.getElementById("map");
  const statusBox = document.getElementById("map-status");
  const info = document.getElementById("feature-info");
  const staff = box.dataset.staff === "true";
  const _ = SG._;
  const STATUS = {open: "#c62828", worked_on: "#ef6c00", closed: "#2e7d32"};
  const RETURN = {returned: "#2e7d32", partial: "#e8a33d", not_returned: "#78909c"};
  const METHODS = ["#64b5f6", "#4db6ac", "#81c784", "#ba68c8", "#ffb74d", "#a1887f", "#90a4ae",
                   "#f06292"];
  // the plan's areas by the year the plan releases them: its first year green, its sixth
  // and later red; grey dashed: not within the plan
  const YEARS = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"];
  // codes as people read them (the vocabulary's labels): "nts" -> "non-technical survey"
  const LABELS = JSON.parse(box.dataset.labels || "{}");
  const label = (code) => LABELS[code] || String(code).replace(/_/g, " ");
  const planStart = Number(box.dataset.planStart || 0);
  const settlementLabels = L.layerGroup();
  const planYear = (f) => (f.properties.planned_release_date || "").slice(0, 4);
  const colourOfYear = (y) => !y ? "#9e9e9e" :
    YEARS[Math.max(0, Math.min(YEARS.length - 1, Number(y) - planStart))];
  const yearsSeen = new Set();
  const methodColour = {};
  const colourOf = (m) => methodColour[m] || (methodColour[m] =
    METHODS[Object.keys(methodColour).length % METHODS.length]);

  // no tile layers, so no zoom limit of their own: 19 is about a building
  const map = L.map(box, {preferCanvas: false, zoomSnap: 0.25, maxZoom: 19,
                          attributionControl: false});
  L.control.scale({metric: true, imperial: false, position: "bottomleft"}).addTo(map);
  // tiles drawn on this server only: the authority's offline basemap (under everything) and
  // the risk surface (staff, when the work directory holds one); never another host
  const basemapInfo = box.dataset.basemap ? JSON.parse(box.dataset.basemap) : null;
  const riskInfo = box.dataset.risk ? JSON.parse(box.dataset.risk) : null;
  if (basemapInfo) {
    map.createPane("basemap").style.zIndex = 150;
    L.tileLayer("/api/v1/map/basemap/{z}/{x}/{y}", {pane: "basemap", maxZoom: 19,
      minNativeZoom: basemapInfo.min_zoom, maxNativeZoom: basemapInfo.max_zoom,
      className: "sg-basemap"}).addTo(map);
    if (basemapInfo.attribution) {
      L.control.attribution({prefix: false}).addAttribution(
        SG.el("span", {}, basemapInfo.attribution).outerHTML).addTo(map);
    }
  }
  let riskLayer = null;
  if (riskInfo) {
    map.createPane("risk").style.zIndex = 250;      // above the basemap, under the record
    riskLayer = L.tileLayer(riskInfo.tiles,
      {pane: "risk", maxZoom: 19, maxNativeZoom: 16, opacity: 0.85, className: "sg-risk"});
  }
  // where the record is (the server puts the extent of what this user may see in the page)
  const extent = box.dataset.extent ? JSON.parse(box.dataset.extent) : null;
  if (extent) map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], {padding: [20, 20]});
  else map.setView([40.0, 47.0], 9);

  // Clicking a feature shows its attributes. The layers carry only what the map draws with
  // (detail=map), so every attribute is asked for then, once per feature (featuresUrl).
  const LINK_TYPES = {hazardous_areas: "hazardous_area", planned_release: "hazardous_area",
                      released_land: "land_release",
                      settlements: "settlement", accidents: "accident", ordnance: "ordnance"};
  const full = new Map();   // "layer/id" -> every attribute (this page's date)
  let asking = null;        // the feature whose attributes are being asked for

  function table(props) {
    const t = SG.el("table", {class: "plain small"});
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || k === "id") continue;
      const word = (x) => (typeof x === "string" && LABELS[x]) ? `${LABELS[x]} (${x})` :
        typeof x === "number" ? SG.num(x) : x;
      const shown = Array.isArray(v) ? v.map(word).join(", ") : word(v);
      if (typeof shown === "object") continue;
      t.append(SG.el("tr", {}, SG.el("th", {}, SG.field(k)),
                     SG.el("td", {"data-field": k}, shown)));
    }
    return t;
  }

  function show(kind, id, props, complete) {
    info.replaceChildren(SG.el("h3", {}, `${titles[kind] || SG.term(kind)} ${id || ""}`), table(props));
    info.dataset.feature = `${kind}/${id}`;
    info.dataset.full = complete ? "true" : "false";
    if (!complete) info.append(SG.el("p", {class: "muted small"}, _("Loading every attribute…")));
    if (staff && LINK_TYPES[kind] && id) {
      info.append(SG.el("a", {href: `/objects/${LINK_TYPES[kind]}/${encodeURIComponent(id)}`},
                        _("Open the record and its history →")));
    }
  }

  async function select(kind, feature) {
    const id = feature.id, key = `${kind}/${id}`;
    if (full.has(key)) return show(kind, id, full.get(key), true);
    show(kind, id, feature.properties, false);
    if (asking) asking.abort();
    const ctl = asking = new AbortController();
    const url = new URL(`${box.dataset.featuresUrl}/${encodeURIComponent(kind)}/` +
                        encodeURIComponent(id), window.location.href);
    if (box.dataset.asOf) url.searchParams.set("as_of", box.dataset.asOf);
    try {
      const data = await SG.api("GET", url.pathname + url.search, undefined, {signal: ctl.signal});
      full.set(key, data.properties);
      if (asking === ctl && info.dataset.feature === key) show(kind, id, data.properties, true);
    } catch (err) {
      if (err.name === "AbortError") return;
      if (info.dataset.feature === key) {
        info.querySelector("p.muted")?.replaceWith(
          SG.el("p", {class: "muted small"}, `Could not load its attributes: ${err.code}`));
      }
    } finally {
      if (asking === ctl) asking = null;
    }
  }

  function tooltip(id, name) {
    return SG.el("span", {class: "sg-tooltip"}, name ? `${id} · ${name}` : `${id}`);
  }

  function popup(kind) {
    return (feature, layer) => {
      layer.on("click", () => select(kind, feature));
      const p = feature.properties;
      // a DOM node with text, never a string: Leaflet reads a string as HTML, and names
      // are typed by whoever submits a report
      layer.bindTooltip(() => tooltip(feature.id, p.name), {sticky: true});
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
    planned_release: {
      // areas the plan does not release: a thin dashed outline, no fill (they are often
      // large, and would hide what the plan does)
      style: (f) => ({color: colourOfYear(planYear(f)), weight: planYear(f) ? 2 : 1,
                      fillColor: colourOfYear(planYear(f)), fillOpacity: planYear(f) ? 0.5 : 0,
                      fill: Boolean(planYear(f)), dashArray: planYear(f) ? null : "3 3",
                      className: `sg-plan sg-plan-${planYear(f) || "later"}`}),
      onEachFeature: (f, layer) => { yearsSeen.add(planYear(f)); popup("planned_release")(f, layer); }},
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
      onEachFeature: (f, layer) => {
        popup("settlements")(f, layer);
        // its name beside it, from zoom LABEL_ZOOM on (the .sg-labels class on the map): a
        // label of its own, so the hover tooltip stays
        if (f.properties.name && f.geometry && f.geometry.type === "Point") {
          const [lon, lat] = f.geometry.coordinates;
          settlementLabels.addLayer(L.tooltip({permanent: true, direction: "right",
            offset: [6, 0], className: "sg-label", interactive: false})
            .setLatLng([lat, lon]).setContent(SG.el("span", {}, f.properties.name)));
        }
      }},
    accidents: {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 4, weight: 2, color: "#fff",
        fillColor: "#111", fillOpacity: 1, className: "sg-accident"}),
      onEachFeature: popup("accidents")},
    ordnance: {
      pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 2.5, weight: 0, fillColor: "#6a1b9a",
        fillOpacity: 0.9, className: "sg-item"}),
      onEachFeature: popup("ordnance")},
  };
  const titles = {admin_areas: _("Districts"), hazardous_areas: _("Hazardous areas"), hazardous_area_points:
    _("Hazardous areas (generalised)"), released_land: _("Released land"), settlements: _("Settlements"),
    accidents: _("Accidents"), ordnance: _("Explosive items"), planned_release: _("Plan: release year")};
  // drawn in this order: settlements under the areas, so every area stays clickable
  const order = ["admin_areas", "settlements", "released_land", "hazardous_areas", "planned_release",
                 "hazardous_area_points", "ordnance", "accidents"];
  const hiddenAtStart = new Set(["ordnance", "planned_release"]);
  const NOUNS = [["hazardous_areas", _("%(n)s hazardous areas")],
                 ["hazardous_area_points", _("%(n)s hazardous areas")],
                 ["released_land", _("%(n)s released parcels")], ["settlements", _("%(n)s settlements")],
                 ["accidents", _("%(n)s accidents")], ["ordnance", _("%(n)s explosive items")],
                 ["planned_release", _("%(n)s planned areas")]];

  // Only the layers switched on are asked for, each for the view: the box shown, padded by
  // PAD on each side, and the zoom (the server simplifies lines and polygons for it), with
  // only the attributes the map draws with (detail=map). They are asked for again when the
  // map has moved out of what was loaded, or zoomed in by half a level or more (finer shapes)
  // or out by a whole level, once the map has been still for DEBOUNCE_MS. A layer switched
  // on is asked for alone, for the view the others were loaded for; a layer switched off is
  // taken off the map, its own request stopped, and left out of the next requests.
  const PAD = 0.25, DEBOUNCE_MS = 250;
  const list = document.getElementById("layer-list");
  const legend = document.getElementById("method-legend");
  const available = order.filter((n) => JSON.parse(box.dataset.layers || "[]").includes(n));
  const on = new Set(available.filter((n) => !hiddenAtStart.has(n)));
  const drawn = {}, counts = {};
  const fresh = new Set();   // layers whose features are those of `view`
  const single = {};         // layer -> the AbortController of its request alone
  let view = null, pending = null, timer = null, requests = 0, layerRequests = 0;

  if (riskLayer) {
    const check = SG.el("input", {type: "checkbox", id: "layer-risk"});
    check.addEventListener("change", () => {
      if (check.checked) riskLayer.addTo(map); else riskLayer.remove();
      box.dataset.riskOn = String(check.checked);
    });
    const date = riskInfo.as_of || riskInfo.made;
    list.append(SG.el("label", {class: "layer"}, check, ` Risk surface (${date}) `,
                      SG.el("span", {class: "count"}, "")));
  }
  // the roads of the context layers, named: asked for the view from zoom 9 on, again as the
  // map moves (a request at a time; drawn under the record's layers)
  if (box.dataset.roadsUrl) {
    map.createPane("roads").style.zIndex = 350;
    const roads = L.geoJSON(null, {pane: "roads", interactive: false,
      style: () => ({color: "#8d6e63", weight: 1.5, opacity: 0.8, className: "sg-road"}),
      onEachFeature: (f, layer) => {
        if (f.properties.label) layer.bindTooltip(SG.el("span", {}, f.properties.label),
          {permanent: true, direction: "center", className: "sg-label sg-road-label"});
      }});
    let roadsCtl = null;
    const loadRoads = async () => {
      if (!map.hasLayer(roads)) return;
      if (roadsCtl) roadsCtl.abort();
      const ctl = roadsCtl = new AbortController();
      const v = currentView();
      const url = new URL(box.dataset.roadsUrl, window.location.href);
      url.searchParams.set("bbox", v.bbox);
      url.searchParams.set("zoom", v.zoomParam);
      try {
        const data = await SG.api("GET", url.pathname + url.search, undefined, {signal: ctl.signal});
        if (roadsCtl !== ctl) return;
        roads.clearLayers();
        roads.addData(data);
        box.dataset.roads = String(data.features.length);
      } catch (err) {
        if (err.name !== "AbortError") statusBox.textContent = `Could not load the roads: ${err.code}`;
      }
    };
    const check = SG.el("input", {type: "checkbox", id: "layer-roads"});
    check.checked = true;
    roads.addTo(map);
    check.addEventListener("change", () => {
      if (check.checked) { roads.addTo(map); loadRoads(); } else roads.remove();
    });
    list.append(SG.el("label", {class: "layer"}, check, " Roads ", SG.el("span", {class: "count"}, "")));
    map.on("moveend", loadRoads);
    setTimeout(loadRoads, 0);
  }
  for (const name of available) {
    const layer = drawn[name] = L.geoJSON(null, options[name]);
    if (on.has(name)) layer.addTo(map);
    const check = SG.el("input", {type: "checkbox", id: `layer-${name}`});
    check.checked = on.has(name);
    check.addEventListener("change", () => check.checked ? switchOn(name) : switchOff(name));
    list.append(SG.el("label", {class: "layer"}, check, ` ${titles[name]} `,
                      SG.el("span", {class: "count", "data-layer": name}, "–")));
  }

  function covered() {
    if (!view) return false;
    const z = map.getZoom();
    return view.bounds.contains(map.getBounds()) && z < view.zoom + 0.5 && z > view.zoom - 1;
  }

  function currentView() {
    const bounds = map.getBounds().pad(PAD), zoom = map.getZoom();
    return {bounds, zoom,
            bbox: [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
              .map((v) => v.toFixed(6)).join(","),
            zoomParam: String(Math.round(zoom * 100) / 100)};
  }

  function layersUrl(names, v) {
    const url = new URL(box.dataset.layersUrl, window.location.href);
    url.searchParams.set("bbox", v.bbox);
    url.searchParams.set("zoom", v.zoomParam);
    url.searchParams.set("layers", names.join(","));
    url.searchParams.set("detail", "map");
    return url.pathname + url.search;
  }

  function fill(name, fc) {
    if (name === "planned_release") yearsSeen.clear();
    if (name === "settlements") settlementLabels.clearLayers();
    drawn[name].clearLayers();
    drawn[name].addData(fc);
    counts[name] = fc.features.length;
    fresh.add(name);
    list.querySelector(`.count[data-layer="${name}"]`).textContent = fc.features.length;
  }

  function restack() {   // keep the drawing order whatever order the layers came in
    for (const name of order) if (on.has(name) && drawn[name]) drawn[name].bringToFront();
  }

  function describe(asOf) {
    legend.replaceChildren();
    for (const [m, c] of Object.entries(methodColour)) {
      const sw = SG.el("span", {class: "swatch"});
      sw.style.background = c;
      legend.append(SG.el("div", {"data-method": m}, sw, label(m)));
    }
    if (!Object.keys(methodColour).length) legend.append(SG.el("div", {class: "muted small"}, _("none yet")));
    const planLegend = document.getElementById("plan-legend");
    if (planLegend && on.has("planned_release") && fresh.has("planned_release")) {
      planLegend.replaceChildren();
      for (const y of [...yearsSeen].sort((a, b) => (a || "9999").localeCompare(b || "9999"))) {
        const sw = SG.el("span", {class: "swatch"});
        sw.style.background = colourOfYear(y);
        planLegend.append(SG.el("div", {"data-year": y || "later"}, sw,
                                y || _("not within the plan")));
      }
      if (!yearsSeen.size) planLegend.append(SG.el("div", {}, _("no planned area in view")));
    }
    const parts = NOUNS.filter(([n]) => on.has(n) && fresh.has(n))
      .map(([n, noun]) => noun.replace("%(n)s", SG.num(counts[n])));
    statusBox.textContent = parts.length ?
      _("In this view: %(what)s", {what: parts.join(", ")}) +
        (asOf ? " " + _("(as known on %(date)s)", {date: asOf}) : "") :
      _("No layer is switched on.");
  }

  function stopAll() {
    if (pending) pending.abort();
    pending = null;
    for (const name of Object.keys(single)) { single[name].abort(); delete single[name]; }
  }

  async function load(force) {
    clearTimeout(timer);
    if (!force && covered()) return;
    stopAll();
    const names = available.filter((n) => on.has(n));
    const v = currentView();
    if (!names.length) {               // nothing to ask for: the next layer on asks anew
      view = null;
      fresh.clear();
      describe(box.dataset.asOf);
      return;
    }
    const ctl = pending = new AbortController();
    let data;
    try {
      data = await SG.api("GET", layersUrl(names, v), undefined, {signal: ctl.signal});
    } catch (err) {
      if (err.name === "AbortError") return;
      if (pending === ctl) pending = null;
      statusBox.textContent = _("Could not load the layers: %(error)s", {error: `${err.code} ${err.message}`});
      return;
    }
    if (pending !== ctl) return;
    pending = null;
    view = v;
    fresh.clear();
    for (const name of available) {
      if (on.has(name) && data.layers[name]) fill(name, data.layers[name]);
      else if (!on.has(name)) {        // switched off meanwhile, or off all along
        drawn[name].clearLayers();
        list.querySelector(`.count[data-layer="${name}"]`).textContent = "–";
      }
    }
    describe(data.as_of);
    box.dataset.requests = String(++requests);
    box.dataset.bbox = v.bbox;
    box.dataset.loaded = "true";
  }

  async function loadOne(name) {
    const v = view, ctl = single[name] = new AbortController();
    let data;
    try {
      data = await SG.api("GET", layersUrl([name], v), undefined, {signal: ctl.signal});
    } catch (err) {
      if (err.name === "AbortError") return;
      if (single[name] === ctl) delete single[name];
      statusBox.textContent = _("Could not load %(layer)s: %(error)s",
                                {layer: titles[name], error: `${err.code} ${err.message}`});
      return;
    }
    if (single[name] !== ctl) return;
    delete single[name];
    if (!on.has(name) || view !== v) return;
    fill(name, data.layers[name]);
    restack();
    describe(data.as_of);
    box.dataset.layerRequests = String(++layerRequests);
  }

  function switchOn(name) {
    on.add(name);
    if (!fresh.has(name)) drawn[name].clearLayers();
    drawn[name].addTo(map);
    restack();
    if (pending) return load(true);                 // ask again, with this layer too
    if (fresh.has(name) && covered()) return describe(box.dataset.asOf);  // still what is in view
    if (!covered()) return load(true);              // a request for every layer on is due
    loadOne(name);                                  // the others are there: this one alone
  }

  function switchOff(name) {
    on.delete(name);
    drawn[name].remove();
    if (name === "settlements") settlementLabels.clearLayers();
    if (single[name]) { single[name].abort(); delete single[name]; }
    // a request for every layer under way still carries it: its answer is not drawn for it
    describe(box.dataset.asOf);
  }

  settlementLabels.addTo(map);
  const LABEL_ZOOM = 11;
  const labelled = () => box.classList.toggle("sg-labels", map.getZoom() >= LABEL_ZOOM);
  map.on("zoomend", labelled);
  labelled();
  map.on("moveend", () => {
    clearTimeout(timer);
    timer = setTimeout(load, DEBOUNCE_MS);
  });
  await load();
})();
