/* An object's own small map. */
"use strict";
(() => {
  const box = document.getElementById("mini-map");
  const data = JSON.parse(document.getElementById("object-geojson").textContent);
  const map = L.map(box, {attributionControl: false});
  L.control.scale({metric: true, imperial: false}).addTo(map);
  const layer = L.geoJSON(data, {
    style: (f) => f.properties.part === "remaining"
      ? {color: "#c62828", weight: 1, fillOpacity: 0.35, className: "sg-remaining"}
      : f.properties.part === "access"          // a hazardous area a settlement waits on
        ? {color: "#c62828", weight: 1, fillOpacity: 0.25, className: "sg-access"}
        : {color: "#1e3a5f", weight: 2, fillOpacity: 0.08, className: "sg-object"},
    pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 7, color: "#1e3a5f"}),
  }).addTo(map);
  const b = layer.getBounds();
  if (b.isValid()) map.fitBounds(b, {padding: [20, 20], maxZoom: 16});
})();
