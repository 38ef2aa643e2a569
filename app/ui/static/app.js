// The dashboard: a client of the public /v1 API and nothing else.
/* global Chart */
import { createMap } from "./map.js";

const KEY_STORAGE = "incidents.key";
const PAGE_SIZE = 25;
const STATUSES = {
  claimed: { colour: "#b26a00", letter: "C" },
  verified: { colour: "#1b5e20", letter: "V" },
  disputed: { colour: "#6a1b9a", letter: "D" },
  refuted: { colour: "#b71c1c", letter: "R" },
};

const $ = (selector) => document.querySelector(selector);
// `applied`: the filters of what is shown, so paging and downloads ignore edits not applied yet.
const state = { key: sessionStorage.getItem(KEY_STORAGE), cursors: [null], page: 0, applied: {} };
// Each panel draws only its latest load: a slow answer to an older filter is dropped.
const latest = { refresh: 0, table: 0, map: 0, chart: 0 };
const isStale = (panel, run) => run !== latest[panel];

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const response = await fetch(url, { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      problem = { detail: response.statusText };
    }
    throw new ApiError(response.status, problem);
  }
  return response.json();
}

const label = (value) => (value ? value.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()) : "");

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function statusBadge(status) {
  const info = STATUSES[status] || { colour: "#444", letter: "?" };
  const badge = element("span", { class: `badge status-${status}`, text: `${info.letter} ${status}` });
  badge.style.background = info.colour;
  return badge;
}

function filters() {
  const data = new FormData($("#filters"));
  const params = {};
  for (const [name, value] of data.entries()) if (value.trim()) params[name] = value.trim();
  return params;
}

// --- signing in -----------------------------------------------------------------------------

function showLogin(message) {
  $("#main").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
  const error = $("#login-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("#key").focus();
}

async function signIn(key) {
  state.key = key;
  try {
    await api("/v1/events", { limit: 1 });
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    const why = error instanceof ApiError ? `${error.status}: ${error.message}` : error.message;
    showLogin(`That key was not accepted (${why}). Check it and try again.`);
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#logout").hidden = false;
  await setUp();
  await refresh();
}

// --- the panels -----------------------------------------------------------------------------

let map, chart, ready = false;

async function setUp() {
  if (ready) return;
  ready = true;
  const schema = await fetch("/openapi.json").then((r) => r.json());
  const parameters = schema.paths["/v1/events"].get.parameters;
  const choices = (name) => parameters.find((p) => p.name === name).schema.items?.enum
    ?? parameters.find((p) => p.name === name).schema.enum ?? [];
  for (const [id, name] of [["#f-status", "status"], ["#f-type", "event_type"]]) {
    for (const value of choices(name)) $(id).append(element("option", { value, text: label(value) }));
  }

  map = createMap($("#map"), {
    statuses: STATUSES,
    key: () => state.key,
    openEvent: showEvent,
    note: (text) => { $("#map-note").textContent = text; },
  });
  for (const [status, info] of Object.entries(STATUSES)) {
    const swatch = element("span", { class: "swatch", text: info.letter, "aria-hidden": "true" });
    swatch.style.background = info.colour;
    $(".legend").append(element("li", {}, swatch, ` ${status}`));
  }
  const group = element("span", { class: "swatch group", text: "n", "aria-hidden": "true" });
  $(".legend").append(element("li", {}, group, " n events close together: click to zoom in"));
  map.setBasemap($("#basemap").value);

  $("#chart-mode").addEventListener("change", () => loadChart().catch(report));
}

// The chart shows one of two things (#chart-mode): events per week stacked by status, or the
// weekly sums of the events' estimate of fatalities, best as a line in a low–high band.
const CHART_MODES = {
  status: { title: "Events per week, by status", label: "Weekly bar chart of the filtered events, stacked by status" },
  fatalities: { title: "Fatalities per week: best estimate, low–high band", label: "Weekly line chart of the filtered events' estimated fatalities, best with a low to high band" },
};

function drawChart(type, labels, datasets, stacked) {
  if (chart) chart.destroy();
  chart = new Chart($("#chart"), {
    type,
    data: { labels, datasets },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

function chartTable(heading, rows) {
  $("#chart-data thead").replaceChildren(element("tr", {}, ...heading.map((text) => element("th", { scope: "col", text }))));
  $("#chart-data tbody").replaceChildren(...rows.map(([week, ...values]) => element("tr", { "data-week": week },
    element("th", { scope: "row", text: week }), ...values.map((value) => element("td", { text: String(value) })))));
}

async function refresh() {
  state.applied = filters();
  state.cursors = [null];
  state.page = 0;
  $("#detail").hidden = true;
  $("#status-line").textContent = "Loading…";
  const run = ++latest.refresh;
  try {
    const [shown] = await Promise.all([loadTable(), loadMap(), loadChart()]);
    if (shown === null) return; // a newer filter is being shown
    $("#status-line").textContent = `Showing ${shown} event${shown === 1 ? "" : "s"} on this page.`;
  } catch (error) {
    if (!isStale("refresh", run)) report(error); // an older filter's failure is not news
  }
}

function report(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    showLogin(`The key stopped working (${error.status}: ${error.message}).`);
    return;
  }
  const detail = error.problem?.errors?.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
  $("#status-line").textContent = `Error: ${error.message}${detail ? ` (${detail})` : ""}`;
  $("#status-line").classList.add("error");
}

async function loadTable() {
  const run = ++latest.table;
  $("#status-line").classList.remove("error");
  // No paging while a page loads: the next cursor is not known yet.
  $("#next").disabled = $("#prev").disabled = true;
  const page = await api("/v1/events", { ...state.applied, limit: PAGE_SIZE, cursor: state.cursors[state.page] });
  if (isStale("table", run)) return null;
  const body = $("#events tbody");
  body.replaceChildren();
  for (const event of page.items) {
    const open = element("button", { type: "button", class: "link", text: event.summary || label(event.sub_event_type) });
    open.addEventListener("click", () => showEvent(event.id));
    body.append(element("tr", { "data-id": event.id },
      element("td", { text: event.event_date }),
      element("td", {}, statusBadge(event.status)),
      element("td", { text: label(event.event_type) }),
      element("td", { text: event.region ? `${event.region.name} (${event.region.code})` : event.country }),
      element("td", { text: event.location_name || "" }),
      element("td", {}, open)));
  }
  if (!page.items.length) body.append(element("tr", {}, element("td", { colspan: "6", text: "No events match." })));
  state.cursors[state.page + 1] = page.next_cursor;
  $("#next").disabled = !page.next_cursor;
  $("#prev").disabled = state.page === 0;
  $("#page-label").textContent = `Page ${state.page + 1}`;
  return page.items.length;
}

// The map draws the server's tiles for the filters; its count is the filtered events' total.
async function loadMap() {
  const run = ++latest.map;
  map.show(state.applied).catch(report);
  const summary = await api("/v1/stats/summary", state.applied);
  if (isStale("map", run)) return;
  $("#map-count").textContent = `(${summary.total.toLocaleString("en")} event${summary.total === 1 ? "" : "s"})`;
  $("#map").dataset.total = String(summary.total);
}

async function loadChart() {
  const run = ++latest.chart;
  const mode = $("#chart-mode").value;
  const byStatus = mode === "status";
  const series = await api("/v1/stats/timeseries", { ...state.applied, interval: "week", group_by: byStatus ? "status" : "" });
  if (isStale("chart", run)) return;
  $("#chart-title").textContent = CHART_MODES[mode].title;
  $("#chart").setAttribute("aria-label", CHART_MODES[mode].label);
  $("#chart").dataset.mode = mode;
  const weeks = [...new Set(series.series.flatMap((s) => s.points.map((p) => p.t)))].sort();
  if (byStatus) {
    const counts = Object.fromEntries(series.series.map((s) => [s.key, Object.fromEntries(s.points.map((p) => [p.t, p.count]))]));
    const datasets = Object.entries(STATUSES)
      .filter(([status]) => counts[status])
      .map(([status, info]) => ({ label: status, backgroundColor: info.colour, data: weeks.map((w) => counts[status][w] || 0) }));
    drawChart("bar", weeks, datasets, true);
    chartTable(["Week of", ...datasets.map((d) => d.label)], weeks.map((week, i) => [week, ...datasets.map((d) => d.data[i])]));
    $("#chart").dataset.bars = String(weeks.filter((_, i) => datasets.some((d) => d.data[i] > 0)).length);
    return;
  }
  const points = series.series[0]?.points ?? [];
  const measure = (name) => points.map((p) => p[`fatalities_${name}`]);
  // The band: high filled down to low (the dataset before it); best drawn over it.
  drawChart("line", points.map((p) => p.t), [
    { label: "low", data: measure("low"), borderColor: "#7a9cc6", borderWidth: 1, pointRadius: 0, fill: false },
    { label: "high", data: measure("high"), borderColor: "#7a9cc6", borderWidth: 1, pointRadius: 0, fill: "-1", backgroundColor: "rgba(11, 79, 138, 0.18)" },
    { label: "best", data: measure("best"), borderColor: "#0b4f8a", borderWidth: 2, pointRadius: 2, fill: false },
  ], false);
  chartTable(["Week of", "low", "best", "high"], points.map((p) => [p.t, p.fatalities_low, p.fatalities_best, p.fatalities_high]));
  $("#chart").dataset.bars = String(points.filter((p) => p.fatalities_high > 0 || p.fatalities_best > 0).length);
}

// --- one event ------------------------------------------------------------------------------

// A key as people know it: its name, with the start of its id to tell namesakes apart.
function actor(name, id) {
  return name ? `${name} (${id.slice(0, 8)})` : `key ${id.slice(0, 8)}`;
}

// One revision's change in words: scalar fields as "from → to", the rest by name.
function describeChange(diff) {
  const shown = (value) => (value === null || value === undefined || value === "" ? "none" : String(value));
  return Object.entries(diff).map(([field, change]) => {
    if (field === "attested_version") return `judged version ${change}`;
    if (field === "sources" && change?.changed) {
      const { id, ...members } = change.changed;
      return `Source ${id.slice(0, 8)}: ${describeChange(members)}`;
    }
    if (field === "sources" && change?.removed) return `Source removed: ${change.removed.source_name}`;
    if (field === "sources" && change?.added) return `Source added: ${change.added.source_name}`;
    if (change && typeof change === "object" && "to" in change && (change.to === null || typeof change.to !== "object")
        && (change.from === null || change.from === undefined || typeof change.from !== "object")) {
      return `${label(field)}: ${shown(change.from)} → ${shown(change.to)}`;
    }
    return label(field);
  }).join("; ");
}

// The figures a claim or an estimate can give, as the claims table's columns.
const FIGURES = [
  ["fatalities", "Dead"], ["civilian_fatalities", "Civilians"], ["wounded", "Wounded"], ["captured", "Captured"],
];
// Admiralty C3 or better: the claims the estimate weighs first (docs/figures.md).
const isGraded = (s) => "ABC".includes(s.reliability) && "123".includes(s.credibility);

// Each source's claimed figures side by side with its grade and stance, and under them the
// event's estimate of each figure: best, with the low–high span and what it rests on.
function claimsTable(event) {
  const shown = (value) => (value === null || value === undefined ? "–" : String(value));
  const bySide = (figures) => Object.entries(figures?.fatalities_by_side || {}).map(([side, dead]) => `${side} ${dead}`).join(", ");
  const head = element("tr", {}, ...["Source", "Grade", "Stance", "Outcome", ...FIGURES.map(([, name]) => name), "Dead by side"]
    .map((text) => element("th", { scope: "col", text })));
  const rows = event.sources.map((s) => element("tr", { class: isGraded(s) ? "graded" : "ungraded" },
    element("th", { scope: "row", text: s.source_name }),
    element("td", {}, element("abbr", { class: "grade", title: isGraded(s) ? "graded: C3 or better" : "not graded: below C3", text: `${s.reliability}${s.credibility}` })),
    element("td", { class: "stance-cell", text: s.stance }),
    element("td", { text: label(s.figures?.outcome) || "–" }),
    ...FIGURES.map(([name]) => element("td", { class: "figure", text: shown(s.figures?.[name]) })),
    element("td", { text: bySide(s.figures) || "–" })));
  const estimate = element("tr", { class: "estimate" }, element("th", { scope: "row", colspan: "4", text: "Estimate: best (low–high)" }),
    ...FIGURES.map(([name]) => {
      const e = event.estimates?.[name];
      if (!e) return element("td", { text: "–" });
      return element("td", { class: "figure", title: `${e.basis}, from ${e.sources} source${e.sources === 1 ? "" : "s"}` },
        element("strong", { text: String(e.best) }), " ", element("span", { class: "spread", text: `(${e.low}–${e.high})` }),
        element("span", { class: "basis muted", text: ` ${e.basis}` }));
    }), element("td", {}));
  return element("div", { class: "table-scroll" },
    element("table", { class: "claims" }, element("thead", {}, head), element("tbody", {}, ...rows), element("tfoot", {}, estimate)));
}

async function showEvent(id) {
  const panel = $("#detail");
  try {
    const [event, history] = await Promise.all([api(`/v1/events/${id}`), api(`/v1/events/${id}/history`, { limit: 100 })]);
    $("#detail-title").replaceChildren(`${event.event_date} · ${label(event.sub_event_type)} `, statusBadge(event.status));
    const body = $("#detail-body");
    body.replaceChildren(
      element("p", { text: event.summary || "" }),
      element("p", { class: "where", text: [event.location_name, event.region?.name, event.country].filter(Boolean).join(", ") }),
      element("p", { class: "muted filed-by", text: `Filed by ${actor(event.created_by_name, event.created_by)}; last changed by ${actor(event.updated_by_name, event.updated_by)}` }),
      element("h3", { text: `Sources (${event.sources.length})` }),
      element("ul", { class: "sources" }, ...event.sources.map((s) => {
        const grade = element("abbr", { class: "grade", title: `Admiralty grade: source reliability ${s.reliability}, information credibility ${s.credibility}`, text: `${s.reliability}${s.credibility}` });
        const name = s.url ? element("a", { href: s.url, rel: "noopener noreferrer", target: "_blank", text: s.source_name }) : s.source_name;
        return element("li", { class: `stance-${s.stance}` }, name, " ", element("span", { class: "stance", text: s.stance }), " ", grade,
          s.published_at ? element("span", { class: "muted", text: ` ${s.published_at.slice(0, 10)}` }) : "",
          element("span", { class: "muted added-by", text: ` · added by ${actor(s.added_by_name, s.added_by)}` }),
          s.excerpt ? element("q", { text: s.excerpt }) : "");
      })),
      element("h3", { text: "Claims and estimate" }),
      event.figures_disputed
        ? element("p", { class: "disputed", text: "Disputed figures: the sources' claims differ by more than a factor of two." })
        : "",
      claimsTable(event),
      element("h3", { text: `Units (${event.units.length})` }),
      element("ul", { class: "units" }, ...event.units.map((u) => element("li", { text: `${u.name} (${u.side})${u.role ? `, ${u.role}` : ""}` }))),
      element("h3", { text: `History (${history.items.length} revision${history.items.length === 1 ? "" : "s"})` }),
      element("ol", { class: "history" }, ...history.items.map((r) => element("li", {},
        element("strong", { text: label(r.action) }), ` ${r.at.replace("T", " ").slice(0, 19)} by ${actor(r.actor_name, r.actor)}`,
        r.rationale ? element("q", { text: r.rationale }) : "",
        r.action === "create" || (r.action === "import" && r.revision === 1) ? "" : element("span", { class: "muted change", text: ` · ${describeChange(r.diff)}` })))),
    );
    panel.hidden = false;
    panel.focus();
  } catch (error) {
    report(error);
  }
}

// --- downloads ------------------------------------------------------------------------------

async function download(format) {
  const url = new URL(`/v1/exports/events.${format}`, location.origin);
  for (const [name, value] of Object.entries(state.applied)) url.searchParams.set(name, value);
  const progress = $("#download-progress");
  progress.textContent = `Preparing ${format.toUpperCase()}…`;
  try {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${state.key}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json());
    const reader = response.body.getReader();
    const chunks = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      progress.textContent = `${(received / 1048576).toFixed(1)} MB…`;
    }
    const link = element("a", { href: URL.createObjectURL(new Blob(chunks)), download: `events.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    progress.textContent = `events.${format}: ${(received / 1024).toFixed(0)} KB`;
  } catch (error) {
    progress.textContent = "";
    report(error);
  }
}

// --- wiring ---------------------------------------------------------------------------------

let suggestTimer;
$("#f-region").addEventListener("input", (event) => {
  clearTimeout(suggestTimer);
  const text = event.target.value.trim();
  if (text.length < 2) return;
  suggestTimer = setTimeout(async () => {
    try {
      const regions = await api("/v1/regions", { q: text, limit: 10 });
      $("#region-options").replaceChildren(...regions.items.map((r) =>
        element("option", { value: r.code, label: `${r.name}${r.aliases.length ? ` (${r.aliases.slice(0, 3).join(", ")})` : ""}` })));
    } catch (error) {
      report(error);
    }
  }, 200);
});
$("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  refresh();
});
$("#filters").addEventListener("reset", () => setTimeout(refresh));
async function turnPage(step) {
  state.page += step;
  const run = latest.table + 1; // the load about to start
  try {
    await loadTable();
  } catch (error) {
    state.page -= step;
    if (!isStale("table", run)) {
      $("#next").disabled = !state.cursors[state.page + 1];
      $("#prev").disabled = state.page === 0;
      report(error);
    }
  }
}
$("#next").addEventListener("click", () => turnPage(1));
$("#prev").addEventListener("click", () => turnPage(-1));
$("#basemap").addEventListener("change", (event) => map?.setBasemap(event.target.value));
$("#detail-close").addEventListener("click", () => {
  $("#detail").hidden = true;
});
for (const button of document.querySelectorAll(".downloads button")) {
  button.addEventListener("click", () => download(button.dataset.format));
}
$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#key").value.trim());
});
$("#logout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = null;
  showLogin("");
});

if (state.key) signIn(state.key);
else showLogin("");
