// The dashboard: a client of the public /v1 API and nothing else.
/* global Chart */
import { createMap } from "./map.js";
import { SIDES, STATUSES } from "./palette.js";

const KEY_STORAGE = "incidents.key";
// A phone shows fewer events a page: cards are taller than rows.
const PHONE = window.matchMedia("(max-width: 640px)");
const pageSize = () => (PHONE.matches ? 10 : 25);
const SORTS = { event_date: "date", updated_at: "last update" };

const $ = (selector) => document.querySelector(selector);
// `applied`: the filters of what is shown, so paging and downloads ignore edits not applied yet.
const state = {
  key: sessionStorage.getItem(KEY_STORAGE), cursors: [null], page: 0, applied: {},
  sort: "-event_date", total: null, shown: null, open: null, limit: 25,
};
// Each panel draws only its latest load: a slow answer to an older filter is dropped.
const latest = { refresh: 0, table: 0, map: 0, chart: 0, detail: 0, control: 0 };
const isStale = (panel, run) => run !== latest[panel];
const ROLES = ["reader", "analyst", "verifier", "admin"];
// Whether the signed-in key's role is `role` or above.
const may = (role) => ROLES.indexOf(state.role) >= ROLES.indexOf(role);

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function request(method, path, params, body) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${state.key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) {
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      problem = { detail: response.statusText };
    }
    throw new ApiError(response.status, problem);
  }
  return response.status === 204 ? null : response.json();
}
const api = (path, params) => request("GET", path, params);
const send = (path, body) => request("POST", path, undefined, body);

const label = (value) => (value ? value.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()) : "");
const number = (n) => (n === null || n === undefined ? "–" : n.toLocaleString("en"));
const plural = (n, word) => `${number(n)} ${word}${n === 1 ? "" : "s"}`;

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
  const info = STATUSES[status] || { colour: "#444", ink: "#fff", letter: "?" };
  const badge = element("span", { class: `badge status-${status}`, text: `${info.letter} ${status}` });
  badge.style.background = info.colour;
  badge.style.color = info.ink;
  return badge;
}

// What the API says went wrong, in its words: the problem's detail and each field's error.
function problemText(error) {
  if (!(error instanceof ApiError)) return error.message;
  const fields = error.problem?.errors?.map((e) => {
    const where = (e.loc || []).filter((part) => part !== "body").join(".");
    return where ? `${where}: ${e.msg}` : e.msg;
  }).join("; ");
  return `${error.status} ${error.problem?.title || ""}: ${error.message}${fields ? ` (${fields})` : ""}`.replace(" :", ":");
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
  $("#new-event").hidden = true;
  $("#whoami").hidden = true;
  state.role = null;
  // The previous key's event and forms go with it.
  for (const drawer of [$("#detail"), $("#composer")]) drawer.hidden = true;
  $("#detail-body").replaceChildren();
  document.body.classList.remove("drawer-open");
  $("#login").hidden = false;
  const error = $("#login-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("#key").focus();
}

async function signIn(key) {
  state.key = key;
  let me;
  try {
    // The key's own name and role: the page offers only the writes the role may make (the
    // API still decides each one, and its refusal is shown in its words).
    me = await api("/v1/keys/me");
  } catch (error) {
    state.key = null;
    sessionStorage.removeItem(KEY_STORAGE);
    const why = error instanceof ApiError ? `${error.status}: ${error.message}` : error.message;
    showLogin(`That key was not accepted (${why}). Check it and try again.`);
    return;
  }
  sessionStorage.setItem(KEY_STORAGE, key);
  state.role = me.role;
  $("#whoami").textContent = `${me.name} · ${me.role}`;
  $("#whoami").hidden = false;
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#logout").hidden = false;
  $("#new-event").hidden = !may("analyst");
  await setUp();
  await refresh();
}

// --- the panels -----------------------------------------------------------------------------

let map, chart, ready = false, schemaEnums = {};

async function setUp() {
  if (ready) return;
  ready = true;
  // On a phone the filters are a sheet that opens on demand; elsewhere they are always open.
  $("#filter-sheet").open = !PHONE.matches;
  const schema = await fetch("/openapi.json").then((r) => r.json());
  const parameters = schema.paths["/v1/events"].get.parameters;
  const choices = (name) => parameters.find((p) => p.name === name).schema.items?.enum
    ?? parameters.find((p) => p.name === name).schema.enum ?? [];
  const components = schema.components.schemas;
  schemaEnums = {
    status: choices("status"), event_type: choices("event_type"),
    sub_event_type: choices("sub_event_type"),
    stance: components.SourceIn?.properties?.stance?.enum ?? ["supports", "denies", "unclear"],
    reliability: ["A", "B", "C", "D", "E", "F"], credibility: ["1", "2", "3", "4", "5", "6"],
    // type -> its sub-types, as the API states them (an extension of the create schema).
    subTypes: components.EventCreate?.["x-sub-event-types"] ?? {},
    // Sub-types that need a control claim, which the composer has no fields for.
    needControl: components.EventCreate?.["x-sub-event-types-needing-control"] ?? [],
  };
  for (const [id, name] of [["#f-status", "status"], ["#f-type", "event_type"]]) {
    for (const value of schemaEnums[name]) $(id).append(element("option", { value, text: label(value) }));
  }
  const fill = (select, values, chosen) => {
    select.replaceChildren(...options(values));
    if (chosen) select.value = chosen;
  };
  fill($("#n-type"), schemaEnums.event_type, "battles");
  // The sub-type menu offers the chosen type's sub-types only.
  const fillSubTypes = () => {
    const kinds = (schemaEnums.subTypes[$("#n-type").value] ?? schemaEnums.sub_event_type)
      .filter((kind) => !schemaEnums.needControl.includes(kind));
    fill($("#n-subtype"), kinds, kinds.includes("armed_clash") ? "armed_clash" : kinds[0]);
  };
  fillSubTypes();
  $("#n-type").addEventListener("change", fillSubTypes);
  fill($("#n-reliability"), schemaEnums.reliability, "C");
  fill($("#n-credibility"), schemaEnums.credibility, "3");

  map = createMap($("#map"), {
    statuses: STATUSES,
    sides: SIDES,
    key: () => state.key,
    openEvent: (id) => showEvent(id),
    openPlace: (id, date, basis) => openControlClaim(id, date, basis),
    note: (text) => { $("#map-note").textContent = text; },
  });
  for (const [status, info] of Object.entries(STATUSES)) {
    const swatch = element("span", { class: "swatch", text: info.letter, "aria-hidden": "true" });
    swatch.style.background = info.colour;
    swatch.style.color = info.ink;
    $("#status-legend").append(element("li", {}, swatch, ` ${status}`));
  }
  const group = element("span", { class: "swatch group", text: "n", "aria-hidden": "true" });
  $("#status-legend").append(element("li", {}, group, " n events close together: click to zoom in"));
  map.setBasemap($("#basemap").value);

  $("#chart-mode").addEventListener("change", () => loadChart().catch(report));
  $("#control-basis").addEventListener("change", () => loadControl().catch(report));
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
  state.total = null;
  state.limit = pageSize();
  const count = Object.keys(state.applied).length;
  $("#filter-count").textContent = count ? `(${count} applied)` : "";
  $("#status-line").textContent = "Loading…";
  const run = ++latest.refresh;
  try {
    const [shown] = await Promise.all([loadTable(), loadMap(), loadChart()]);
    if (shown === null || isStale("refresh", run)) return; // a newer filter is being shown
    showCounts();
  } catch (error) {
    if (!isStale("refresh", run)) report(error); // an older filter's failure is not news
  }
}

// "25 of 1,284", page N of M: the total is the summary's for the same filters.
function showCounts() {
  const { shown, total, page, limit } = state;
  if (shown === null) return;
  const first = page * limit + 1;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / limit));
  $("#page-label").textContent = pages ? `Page ${page + 1} of ${number(pages)}` : `Page ${page + 1}`;
  $("#table-count").textContent = shown
    ? `(${number(first)}–${number(first + shown - 1)}${total === null ? "" : ` of ${number(total)}`})`
    : "(none)";
  const sorted = state.sort.startsWith("-") ? "newest first" : "oldest first";
  $("#status-line").textContent = total === null
    ? `Showing ${plural(shown, "event")} (page ${page + 1}).`
    : `Showing ${number(shown)} of ${plural(total, "event")}, page ${page + 1} of ${number(pages)}, by ${SORTS[state.sort.replace("-", "")]}, ${sorted}.`;
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) {
    showLogin(`The key stopped working (${error.status}: ${error.message}).`);
    return;
  }
  $("#status-line").textContent = `Error: ${problemText(error)}`;
  $("#status-line").classList.add("error");
}

function fatalitiesText(event) {
  const e = event.estimates?.fatalities;
  if (e) return e.low === e.high ? number(e.best) : `${number(e.best)} (${number(e.low)}–${number(e.high)})`;
  return event.fatalities === null || event.fatalities === undefined ? "–" : number(event.fatalities);
}

const PRECISION = { day: "day", week: "week", month: "month" };
const when = (iso) => iso.replace("T", " ").slice(0, 16);

function sortHeaders() {
  for (const th of document.querySelectorAll("#events th.sortable")) {
    const column = th.dataset.sort;
    const arrow = th.querySelector(".arrow");
    if (state.sort.replace("-", "") === column) {
      const descending = state.sort.startsWith("-");
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      arrow.textContent = descending ? " ▼" : " ▲";
    } else {
      th.removeAttribute("aria-sort");
      arrow.textContent = " ↕";
    }
  }
}

async function loadTable() {
  const run = ++latest.table;
  $("#status-line").classList.remove("error");
  // No paging while a page loads: the next cursor is not known yet.
  $("#next").disabled = $("#prev").disabled = true;
  sortHeaders();
  const page = await api("/v1/events", {
    ...state.applied, sort: state.sort, limit: state.limit, cursor: state.cursors[state.page],
  });
  if (isStale("table", run)) return null;
  const body = $("#events tbody");
  body.replaceChildren();
  for (const event of page.items) {
    const open = element("button", { type: "button", class: "link", text: event.summary || label(event.sub_event_type) });
    open.addEventListener("click", () => showEvent(event.id, open));
    const where = [event.location_name, event.region ? `${event.region.name} (${event.region.code})` : event.country].filter(Boolean).join(", ");
    body.append(element("tr", { "data-id": event.id, class: event.id === state.open ? "open" : "" },
      element("td", { class: "col-date", "data-label": "Date", text: event.event_date }),
      element("td", { class: "col-precision", "data-label": "Precision", text: PRECISION[event.date_precision] || event.date_precision }),
      element("td", { class: "col-status" }, statusBadge(event.status)),
      element("td", { class: "col-type" }, label(event.sub_event_type), element("span", { class: "muted type", text: label(event.event_type) })),
      element("td", { class: "col-where", text: where }),
      element("td", { class: `col-dead${fatalitiesText(event) === "–" ? " none" : ""}`, "data-label": "Dead", text: fatalitiesText(event) }),
      element("td", { class: "col-summary" }, open),
      element("td", { class: "col-updated", "data-label": "Updated", text: when(event.updated_at) })));
  }
  if (!page.items.length) body.append(element("tr", {}, element("td", { colspan: "8", text: "No events match." })));
  state.cursors[state.page + 1] = page.next_cursor;
  state.shown = page.items.length;
  $("#next").disabled = !page.next_cursor;
  $("#prev").disabled = state.page === 0;
  showCounts();
  return page.items.length;
}

function setFigure(id, figure, sub) {
  $(`#${id} .figure`).textContent = figure;
  $(`#${id} .sub`).textContent = sub;
}

// The key figures of the filter, from the same summary as the map's count.
function showFigures(summary) {
  const count = (status) => summary.by_status.find((s) => s.key === status)?.count ?? 0;
  const share = (n) => (summary.total ? `${Math.round((100 * n) / summary.total)}%` : "–");
  setFigure("fig-events", number(summary.total),
    summary.first_date ? `${summary.first_date} to ${summary.last_date}` : "none match");
  setFigure("fig-verified", share(count("verified")), `${number(count("verified"))} of ${number(summary.total)}`);
  const contested = count("disputed") + count("refuted");
  setFigure("fig-contested", share(contested), `${number(count("disputed"))} disputed, ${number(count("refuted"))} refuted`);
  setFigure("fig-fatalities", number(summary.fatalities_best),
    `range ${number(summary.fatalities_low)}–${number(summary.fatalities_high)}; recorded ${number(summary.fatalities)}`);
  const sides = summary.control_changes_by_side.map((s) => `${s.label || s.key} took ${number(s.count)}`).join(", ");
  setFigure("fig-control", number(summary.control_changes), summary.control_changes ? sides : "none claimed");
}

// --- the replay: the map one ISO week at a time -------------------------------------------

const REPLAY_STEP_MS = 1500;
const MAX_WEEKS = 1000;
const replay = { weeks: [], index: null, playing: 0 };
const day = (iso, add = 0) => new Date(Date.parse(`${iso}T00:00:00Z`) + add * 86400000).toISOString().slice(0, 10);

// The Mondays of the ISO weeks from `first` to `last` (the filter's events' dates).
function replayWeeks(first, last) {
  stopReplay();
  replay.weeks = [];
  replay.index = null;
  if (first && last) {
    const weekday = (new Date(`${first}T00:00:00Z`).getUTCDay() + 6) % 7;
    for (let monday = day(first, -weekday); monday <= last && replay.weeks.length < MAX_WEEKS; monday = day(monday, 7)) {
      replay.weeks.push(monday);
    }
  }
  const slider = $("#replay-week");
  slider.max = String(Math.max(0, replay.weeks.length - 1));
  slider.disabled = $("#replay-play").disabled = replay.weeks.length < 2;
  showingAllWeeks();
}

// The slider and its label say the map shows every week of the filter.
function showingAllWeeks() {
  $("#replay-week").value = "0";
  $("#replay-week").setAttribute("aria-valuetext", "all weeks");
  $("#replay-label").textContent = "all weeks";
  $("#replay-all").hidden = true;
  delete $("#map").dataset.week;
}

// The map for one week: the applied filters with that week's dates; the rest stays as it is.
function showWeek(index) {
  replay.index = index;
  const monday = replay.weeks[index], sunday = day(monday, 6);
  const text = `${monday} to ${sunday}`;
  $("#replay-week").value = String(index);
  $("#replay-week").setAttribute("aria-valuetext", `week of ${text}`);
  $("#replay-label").textContent = text;
  $("#replay-all").hidden = false;
  $("#map").dataset.week = monday;
  map.show({ ...state.applied, date_from: monday, date_to: sunday }).catch(report);
  loadControl().catch(report);
}

function stopReplay() {
  replay.playing += 1; // any loop running sees it is not the current one and ends
  $("#replay-play").setAttribute("aria-pressed", "false");
  $("#replay-play").textContent = "Play weeks";
}

// Play: a week at a time, each shown until the map has drawn it and for at least a step.
async function playReplay() {
  if ($("#replay-play").getAttribute("aria-pressed") === "true") {
    stopReplay();
    return;
  }
  const run = ++replay.playing;
  $("#replay-play").setAttribute("aria-pressed", "true");
  $("#replay-play").textContent = "Pause";
  $("#map").dataset.replayed = "";
  let index = replay.index === null || replay.index >= replay.weeks.length - 1 ? 0 : replay.index + 1;
  while (run === replay.playing && index < replay.weeks.length) {
    showWeek(index);
    await Promise.all([map.whenDrawn(), new Promise((resolve) => setTimeout(resolve, REPLAY_STEP_MS))]);
    if (run !== replay.playing) return;
    const shown = $("#map").dataset;
    shown.replayed = [shown.replayed, replay.weeks[index]].filter(Boolean).join(",");
    index += 1;
  }
  if (run === replay.playing) stopReplay();
}

function allWeeks() {
  stopReplay();
  replay.index = null;
  showingAllWeeks();
  map.show(state.applied).catch(report);
  loadControl().catch(report);
}

// --- the control layer: who holds each place on the map's day ------------------------------

// Today where the user is (not in UTC).
function localToday() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

// The day: the end of the week replayed (not past the filter's last day), else the filter's
// last day, else today.
function controlDate() {
  const last = state.applied.date_to;
  if (replay.index !== null) {
    const sunday = day(replay.weeks[replay.index], 6);
    return last && last < sunday ? last : sunday;
  }
  return last || localToday();
}

function controlSwatch(text, contested, colours) {
  const swatch = element("span", { class: `chip${contested ? " contested" : ""}`, "aria-hidden": "true" },
    element("span", { text }));
  if (colours) {
    swatch.style.background = colours.colour;
    swatch.style.color = colours.ink;
  }
  return swatch;
}

// /v1/control for the day, the basis chosen and the region filter (the other filters are
// about events, not places); its places drawn as chips, counted, and the sides in the legend.
async function loadControl() {
  const run = ++latest.control;
  const basis = $("#control-basis").value;
  const line = $("#control-line"), legend = $("#control-legend");
  // No layer (hidden, or the API refused): `why` goes on the line.
  const empty = async (why) => {
    await map.setControl(null);
    if (isStale("control", run)) return;
    line.textContent = why;
    legend.hidden = true;
    controlPlaces(null);
    Object.assign($("#map").dataset, { controlHeld: "0", controlContested: "0" });
    delete $("#map").dataset.control;
  };
  if (basis === "off") {
    await empty("");
    return;
  }
  const date = controlDate();
  let collection;
  try {
    collection = await api("/v1/control", { date, basis, region: state.applied.region });
  } catch (error) {
    if (!isStale("control", run)) await empty(`Control is not shown: ${problemText(error)}`);
    return;
  }
  if (isStale("control", run)) return;
  const colours = await map.setControl(collection);
  if (isStale("control", run)) return;
  const held = collection.features.filter((f) => f.properties.state === "held").length;
  const contested = collection.features.length - held;
  Object.assign($("#map").dataset, { controlHeld: String(held), controlContested: String(contested) });
  const which = basis === "verified" ? "verified claims" : "claims";
  line.textContent = collection.features.length
    ? `Control on ${date} (${which}): ${plural(held, "place")} held by one side, ${number(contested)} contested.`
    : `Control on ${date} (${which}): no place here has a claim on or before that day.`;
  legend.replaceChildren(
    ...Object.entries(colours).map(([side, info]) => element("li", {}, controlSwatch(side, false, info), ` held by ${side}`)),
    element("li", {}, controlSwatch("A / B", true), " contested"),
  );
  legend.hidden = collection.features.length === 0;
  controlPlaces(collection);
  $("#map").dataset.control = `${date} ${basis}`;
}

// The control layer as a table under the map, for keyboards and screen readers: contested
// places first, then by name; the first CONTROL_ROWS, each with a button to its claim.
const CONTROL_ROWS = 200;
function controlPlaces(collection) {
  const box = $("#control-places");
  const features = collection?.features ?? [];
  box.hidden = features.length === 0;
  if (!features.length) {
    $("#control-places tbody").replaceChildren();
    return;
  }
  const rank = (f) => (f.properties.state === "contested" ? 0 : 1);
  const sorted = [...features].sort((a, b) => rank(a) - rank(b) || a.properties.name.localeCompare(b.properties.name));
  const shown = sorted.slice(0, CONTROL_ROWS);
  $("#control-places summary").textContent = shown.length < features.length
    ? `Places on the map's control layer (the first ${number(shown.length)} of ${number(features.length)}: narrow with a region)`
    : `Places on the map's control layer (${number(features.length)})`;
  $("#control-places tbody").replaceChildren(...shown.map((f) => {
    const p = f.properties;
    const open = element("button", { type: "button", class: "link", text: `claim of ${p.latest_claim}`,
      "aria-label": `Open the claim of ${p.latest_claim} on ${p.name}` });
    open.addEventListener("click", () => openControlClaim(p.place_id, collection.date, collection.basis));
    return element("tr", { "data-place": p.place_id },
      element("th", { scope: "row", text: p.name }),
      element("td", { text: p.state === "held" ? `held by ${p.sides[0]}` : `contested by ${p.sides.join(" and ")}` }),
      element("td", {}, open));
  }));
}

// A place's claim on the control layer's day: the place's timeline, the period holding the
// day, and in it the latest claim dated on or before the day; its event opens in the drawer.
async function openControlClaim(placeId, date, basis) {
  try {
    const timeline = await api(`/v1/places/${placeId}/control`, { basis });
    const period = timeline.periods.find((p) => p.start <= date && (p.end === null || date <= p.end));
    const claims = (period?.claims ?? []).filter((c) => c.event_date <= date);
    const latest = claims[claims.length - 1];
    if (latest) await showEvent(latest.event_id, null);
  } catch (error) {
    report(error);
  }
}

// The map draws the server's tiles for the filters; its count is the filtered events' total.
async function loadMap(reload = false) {
  const run = ++latest.map;
  stopReplay(); // a new filter (or a write) shows all its weeks again
  replay.index = null;
  // Until the filter's weeks are known, a week of the old filter cannot be chosen.
  $("#replay-week").disabled = $("#replay-play").disabled = true;
  map.show(state.applied, reload).catch(report);
  loadControl().catch(report);
  const summary = await api("/v1/stats/summary", state.applied);
  if (isStale("map", run)) return;
  $("#map-count").textContent = `(${plural(summary.total, "event")})`;
  $("#map").dataset.total = String(summary.total);
  state.total = summary.total;
  replayWeeks(summary.first_date, summary.last_date);
  showFigures(summary);
  showCounts();
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

// A value in a revision's diff, in words: lists joined, units and sides by name.
function shownValue(value) {
  if (value === null || value === undefined || value === "") return "none";
  if (Array.isArray(value)) return value.length ? value.map(shownValue).join(", ") : "none";
  if (typeof value === "object") {
    if ("outcome" in value && "side" in value) return controlText(value);
    if ("name" in value && "side" in value) return `${value.name} (${value.side})${value.role ? `, ${value.role}` : ""}`;
    if ("source_name" in value) return value.source_name;
    return Object.entries(value).map(([k, v]) => `${label(k).toLowerCase()} ${shownValue(v)}`).join(", ");
  }
  return String(value);
}

// One revision's change in words: each field as "from → to".
function describeChange(diff) {
  return Object.entries(diff).map(([field, change]) => {
    if (field === "attested_version") return `judged version ${change}`;
    if (field === "sources" && change?.changed) {
      const { id, ...members } = change.changed;
      return `Source ${id.slice(0, 8)}: ${describeChange(members)}`;
    }
    if (field === "sources" && change?.removed) return `Source removed: ${change.removed.source_name}`;
    if (field === "sources" && change?.added) return `Source added: ${change.added.source_name}`;
    if (field === "relations" && (change?.added || change?.removed)) {
      const relation = change.added || change.removed;
      return `Relation ${change.added ? "added" : "removed"}: ${label(relation.kind).toLowerCase()} event ${String(relation.event_id).slice(0, 8)}`;
    }
    if (change && typeof change === "object" && ("to" in change || "from" in change)) {
      return `${label(field)}: ${shownValue(change.from)} → ${shownValue(change.to)}`;
    }
    return `${label(field)}: ${shownValue(change)}`;
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
  return element("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Claims and estimate" },
    element("table", { class: "claims" }, element("thead", {}, head), element("tbody", {}, ...rows), element("tfoot", {}, estimate)));
}

function controlText(control) {
  const verb = control.outcome === "taken" ? "took" : "held";
  const from = control.from_side ? (control.outcome === "taken" ? ` from ${control.from_side}` : ` against ${control.from_side}`) : "";
  const places = control.places?.length ? ` ${plural(control.places.length, "named place")}` : " the event's place";
  const units = control.units?.length ? ` (credited: ${control.units.join(", ")})` : "";
  return `${control.side} ${verb}${places}${from}${units}`;
}

const PRECISION_WORDS = { day: "to the day", week: "to the week (ISO, from Monday)", month: "to the month" };
const GEO_WORDS = { exact: "exact", near: "near", region: "the region only" };

function facts(event) {
  const rows = [
    ["Date", `${event.event_date}, ${PRECISION_WORDS[event.date_precision] || event.date_precision}`],
    ["Type", `${label(event.event_type)} · ${label(event.sub_event_type)}`],
    ["Where", [event.location_name, event.region ? `${event.region.name} (${event.region.code})` : null, event.country].filter(Boolean).join(", ")],
    ["Coordinates", event.lat === null || event.lat === undefined ? "none"
      : `${event.lat.toFixed(5)}, ${event.lon.toFixed(5)} (lat, lon), precision ${GEO_WORDS[event.geo_precision] || event.geo_precision}`],
    ["Fatalities", `${fatalitiesText(event)}${event.fatalities === null || event.fatalities === undefined ? "" : `; recorded ${event.fatalities}`}${event.civilian_fatalities ? `, civilians ${event.civilian_fatalities}` : ""}`],
    ["Confidence", event.confidence ? label(event.confidence) : "not stated"],
    ["Control", event.control ? controlText(event.control) : "no claim"],
  ];
  const list = element("dl", { class: "facts" });
  for (const [name, value] of rows) {
    list.append(element("div", { class: `fact fact-${name.toLowerCase()}` }, element("dt", { text: name }), element("dd", { text: value })));
  }
  const tags = element("dd", { class: "tags" }, ...(event.tags.length ? event.tags.map((tag) => element("span", { class: "tag", text: tag })) : ["none"]));
  list.append(element("div", { class: "fact fact-tags" }, element("dt", { text: "Tags" }), tags));
  return list;
}

async function relationsList(id) {
  const { items } = await api(`/v1/events/${id}/relations`);
  // Each other event by its date and summary (at most 10 looked up; the rest by id).
  const others = await Promise.all(items.map((r, i) => (i < 10
    ? api(`/v1/events/${r.event_id}`).catch(() => null) : Promise.resolve(null))));
  return element("ul", { class: "relations" }, ...items.map((r, i) => {
    const other = others[i];
    const open = element("button", { type: "button", class: "link",
      text: other ? `${other.event_date} ${other.summary || label(other.sub_event_type)}` : `event ${r.event_id.slice(0, 8)}` });
    open.addEventListener("click", () => showEvent(r.event_id));
    return element("li", {}, element("span", { class: "relation-kind", text: label(r.kind).toLowerCase() }), " ", open,
      other ? " " : "", other ? statusBadge(other.status) : "",
      r.note ? element("q", { text: r.note }) : "",
      element("span", { class: "muted", text: ` · stated by ${actor(r.created_by_name, r.created_by)}` }));
  }));
}

// A write form in the drawer, collapsed until wanted: the API decides whether the key may.
function actionForm(title, id, fields, submit) {
  const form = element("form", { class: "action", id });
  const result = element("p", { class: "result", role: "alert" });
  form.append(...fields, element("button", { type: "submit", text: title }), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.className = "result";
    result.textContent = "Sending…";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      result.textContent = await submit(new FormData(form));
      result.classList.add("ok");
    } catch (error) {
      result.textContent = problemText(error);
      result.classList.add("error");
    } finally {
      button.disabled = false;
    }
  });
  return element("details", { class: "act" }, element("summary", { text: title }), form);
}

// A menu's options: each value, shown in words.
const options = (values) => values.map((value) => element("option", { value, text: label(value) || value }));

function selectField(name, text, values, chosen) {
  const id = `a-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const select = element("select", { id, name }, ...options(values));
  if (chosen) select.value = chosen;
  return element("div", { class: "field" }, element("label", { for: id, text }), select);
}

function inputField(name, text, attributes = {}, tag = "input") {
  const id = `a-${name}-${Math.random().toString(36).slice(2, 7)}`;
  return element("div", { class: "field" }, element("label", { for: id, text }), element(tag, { id, name, ...attributes }));
}

// Merging: the likely duplicates of the event (/v1/events/{id}/duplicates), each with a
// button that merges this event into it. Loaded when opened.
function mergeAction(event) {
  const list = element("ul", { class: "candidates" });
  const result = element("p", { class: "result", role: "alert" });
  const details = element("details", { class: "act", id: "merge-action" }, element("summary", { text: "Merge into a duplicate" }),
    element("p", { class: "muted", text: "The key that filed this event, a verifier or an admin; this event's sources and units move to the one chosen, and an admin can undo it." }),
    list, result);
  details.addEventListener("toggle", async () => {
    if (!details.open || list.dataset.state) return;
    list.dataset.state = "loading";
    list.replaceChildren(element("li", { class: "muted", text: "Looking for duplicates…" }));
    try {
      const found = await api(`/v1/events/${event.id}/duplicates`, { limit: 5 });
      const candidates = found.items.filter((c) => c.score > 0);
      list.dataset.state = "done";
      if (!candidates.length) {
        list.replaceChildren(element("li", { class: "muted", text: "No likely duplicate: same type, within 10 km and 7 days." }));
        return;
      }
      list.replaceChildren(...candidates.map((c) => {
        const where = c.event.location_name || label(c.event.sub_event_type);
        const merge = element("button", { type: "button", text: "Merge this event into it",
          "aria-label": `Merge this event into the event of ${c.event.event_date} at ${where}` });
        merge.addEventListener("click", async () => {
          result.className = "result";
          result.textContent = "Merging…";
          merge.disabled = true;
          try {
            await send(`/v1/events/${event.id}/merge`, { into: c.event_id });
            const note = `Merged: the event of ${event.event_date} is now part of this one.`;
            await afterWrite(c.event_id, note);
          } catch (error) {
            result.textContent = problemText(error);
            result.classList.add("error");
            merge.disabled = false;
          }
        });
        return element("li", { "data-id": c.event_id },
          `${c.event.event_date} · ${where} `, statusBadge(c.event.status),
          element("span", { class: "muted", text: ` score ${c.score.toFixed(2)}: ${c.reasons.join(", ")}` }), " ", merge);
      }));
    } catch (error) {
      list.dataset.state = "done";
      list.replaceChildren();
      result.textContent = problemText(error);
      result.classList.add("error");
    }
  });
  return details;
}

function writeActions(event) {
  if (!may("analyst")) {
    return element("p", { class: "writes muted", text: `This key is a ${state.role}: it may read events, not change them.` });
  }
  const statuses = schemaEnums.status.filter((s) => s !== event.status);
  const status = actionForm("Change the status", "status-form", [
    element("p", { class: "muted", text: "Verifiers and admins; under four-eyes, not the key that made or changed the event." }),
    selectField("status", "New status", statuses, statuses[0]),
    inputField("rationale", "Rationale", { required: "", rows: "2" }, "textarea"),
  ], async (data) => {
    const changed = await send(`/v1/events/${event.id}/status`, { status: data.get("status"), rationale: data.get("rationale") });
    await afterWrite(event.id, `Status changed: ${event.status} → ${changed.status}.`);
    return `Status changed: ${event.status} → ${changed.status}.`;
  });
  const source = actionForm("Add a source", "source-form", [
    inputField("source_name", "Source name", { required: "" }),
    inputField("url", "URL", { type: "url" }),
    selectField("stance", "Stance", schemaEnums.stance, "supports"),
    element("div", { class: "field-row" },
      selectField("reliability", "Reliability", schemaEnums.reliability, "C"),
      selectField("credibility", "Credibility", schemaEnums.credibility, "3")),
    inputField("fatalities", "Dead it claims", { type: "number", min: "0", step: "1" }),
    inputField("excerpt", "Excerpt", { rows: "2" }, "textarea"),
  ], async (data) => {
    const body = { source_name: data.get("source_name"), stance: data.get("stance"),
      reliability: data.get("reliability"), credibility: data.get("credibility") };
    if (data.get("url")) body.url = data.get("url");
    if (data.get("excerpt")) body.excerpt = data.get("excerpt");
    if (data.get("fatalities") !== "") body.figures = { fatalities: Number(data.get("fatalities")) };
    const changed = await send(`/v1/events/${event.id}/sources`, body);
    const back = changed.status !== event.status ? `; the event is ${changed.status} again until another key checks it` : "";
    await afterWrite(event.id, `Source added: ${body.source_name}${back}.`);
    return `Source added: ${body.source_name}${back}.`;
  });
  return element("section", { class: "writes", "aria-label": "Change this event" },
    may("verifier") ? status : "", source, mergeAction(event));
}

// After a write: the panels again for the same filters and page, and the event with a note.
async function afterWrite(id, note) {
  const run = ++latest.refresh;
  await Promise.all([loadTable(), loadMap(true), loadChart()]).catch((error) => { if (!isStale("refresh", run)) report(error); });
  await showEvent(id, undefined, note);
}

let opener = null;

async function showEvent(id, from, note) {
  const panel = $("#detail");
  const run = ++latest.detail;
  if (from !== undefined) opener = from || document.activeElement;
  try {
    const [event, history, relations] = await Promise.all([
      api(`/v1/events/${id}`), api(`/v1/events/${id}/history`, { limit: 100 }), relationsList(id),
    ]);
    if (isStale("detail", run)) return;
    $("#composer").hidden = true;
    state.open = event.id;
    for (const row of document.querySelectorAll("#events tbody tr")) row.classList.toggle("open", row.dataset.id === event.id);
    $("#detail-title").replaceChildren(`${event.event_date} · ${label(event.sub_event_type)} `, statusBadge(event.status));
    panel.dataset.id = event.id;
    const body = $("#detail-body");
    body.replaceChildren(
      note ? element("p", { class: "result ok", role: "status", text: note }) : "",
      element("p", { class: "summary", text: event.summary || "" }),
      facts(event),
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
      event.units.length
        ? element("ul", { class: "units" }, ...event.units.map((u) => element("li", {}, `${u.name} (${u.side})${u.role ? `, ${u.role}` : ""}`)))
        : element("p", { class: "units muted", text: "None named." }),
      element("h3", { text: `Relations (${relations.children.length})` }),
      relations.children.length ? relations : element("p", { class: "relations muted", text: "None stated." }),
      element("h3", { text: `History (${history.items.length} revision${history.items.length === 1 ? "" : "s"})` }),
      element("ol", { class: "history" }, ...history.items.map((r) => element("li", {},
        element("strong", { text: label(r.action) }), ` ${r.at.replace("T", " ").slice(0, 19)} by ${actor(r.actor_name, r.actor)}`,
        r.rationale ? element("q", { text: r.rationale }) : "",
        r.action === "create" || (r.action === "import" && r.revision === 1) ? "" : element("span", { class: "muted change", text: ` · ${describeChange(r.diff)}` })))),
      element("h3", { text: "Change this event" }),
      writeActions(event),
    );
    panel.hidden = false;
    panel.scrollTop = 0; // a new event (or the note of a write) from its top
    document.body.classList.add("drawer-open");
    map?.highlight(event.lat === null || event.lat === undefined ? null : { id: event.id, lon: event.lon, lat: event.lat });
    // On a phone the sheet covers the lower part of the screen: bring the map to the top.
    if (PHONE.matches) $("#map").scrollIntoView({ block: "start" });
    panel.focus();
  } catch (error) {
    report(error);
  }
}

function closeDrawer(drawer) {
  drawer.hidden = true;
  if ($("#detail").hidden && $("#composer").hidden) document.body.classList.remove("drawer-open");
  if (drawer.id === "detail") {
    state.open = null;
    map?.highlight(null);
    for (const row of document.querySelectorAll("#events tbody tr.open")) row.classList.remove("open");
  }
  if (opener && document.contains(opener)) opener.focus();
  opener = null;
}

// --- a new event ----------------------------------------------------------------------------

const places = new Map(); // a suggestion's text -> the place it names

function openComposer() {
  $("#detail").hidden = true;
  map?.highlight(null);
  opener = document.activeElement;
  $("#composer").hidden = false;
  document.body.classList.add("drawer-open");
  $("#composer-result").textContent = "";
  $("#composer").focus();
}

async function postEvent(event) {
  event.preventDefault();
  const result = $("#composer-result");
  result.className = "result";
  const place = places.get($("#n-place").value.trim());
  if (!place) {
    result.textContent = "Choose the place from the suggestions (type a few letters of its name).";
    result.classList.add("error");
    $("#n-place").focus();
    return;
  }
  const data = new FormData($("#new-event-form"));
  const body = {
    event_date: data.get("event_date"), date_precision: data.get("date_precision"),
    event_type: data.get("event_type"), sub_event_type: data.get("sub_event_type"), place_id: place.id,
    sources: [{ source_name: data.get("source_name"), reliability: data.get("reliability"), credibility: data.get("credibility") }],
  };
  if (data.get("url")) body.sources[0].url = data.get("url");
  if (data.get("summary").trim()) body.summary = data.get("summary").trim();
  if (data.get("fatalities") !== "") body.fatalities = Number(data.get("fatalities"));
  result.textContent = "Sending…";
  try {
    const created = await send("/v1/events", body);
    $("#new-event-form").reset();
    $("#n-type").dispatchEvent(new Event("change")); // the sub-type menu follows the reset type
    $("#composer").hidden = true;
    await afterWrite(created.id, `Event posted at ${place.name}.`);
    $("#detail").focus();
  } catch (error) {
    result.textContent = problemText(error);
    result.classList.add("error");
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

// Suggestions as the user types: a datalist filled from a /v1 search, the latest answer only.
function suggest(input, list, path, options) {
  let timer, asked = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (text.length < 2 || options.has?.(text)) return;
    timer = setTimeout(async () => {
      const run = ++asked;
      try {
        const found = await api(path, { q: text, limit: 10 });
        if (run === asked) list.replaceChildren(...found.items.map(options.option));
      } catch (error) {
        report(error);
      }
    }, 200);
  });
}
suggest($("#f-region"), $("#region-options"), "/v1/regions", {
  option: (r) => element("option", { value: r.code, label: `${r.name}${r.aliases.length ? ` (${r.aliases.slice(0, 3).join(", ")})` : ""}` }),
});
suggest($("#f-unit"), $("#unit-options"), "/v1/units", {
  option: (u) => element("option", { value: u.name, label: `${u.name} (${u.side})${u.aliases.length ? `: ${u.aliases.slice(0, 3).join(", ")}` : ""}` }),
});
suggest($("#f-place"), $("#place-filter-options"), "/v1/places", {
  option: (p) => element("option", { value: p.name, label: `${p.name}, ${p.region_code || p.country}${p.alt_names?.length ? ` (${p.alt_names.slice(0, 3).join(", ")})` : ""}` }),
});
suggest($("#n-place"), $("#place-options"), "/v1/places", {
  has: (text) => places.has(text),
  option: (p) => {
    const text = `${p.name}, ${p.region_code || p.country} (${p.lat.toFixed(3)}, ${p.lon.toFixed(3)})`;
    places.set(text, p);
    return element("option", { value: text });
  },
});
$("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  if (PHONE.matches) $("#filter-sheet").open = false;
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
// Sorting is the list's own (`sort`): a column pressed again turns its order round.
for (const th of document.querySelectorAll("#events th.sortable")) {
  th.querySelector("button").addEventListener("click", () => {
    const column = th.dataset.sort;
    state.sort = state.sort === `-${column}` ? column : `-${column}`;
    state.cursors = [null];
    state.page = 0;
    loadTable().catch(report);
  });
}
$("#replay-play").addEventListener("click", playReplay);
$("#replay-all").addEventListener("click", allWeeks);
$("#replay-week").addEventListener("input", (event) => {
  stopReplay();
  showWeek(Number(event.target.value));
});
$("#basemap").addEventListener("change", (event) => map?.setBasemap(event.target.value));
$("#detail-close").addEventListener("click", () => closeDrawer($("#detail")));
$("#composer-close").addEventListener("click", () => closeDrawer($("#composer")));
for (const drawer of [$("#detail"), $("#composer")]) {
  drawer.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeDrawer(drawer);
  });
}
$("#new-event").addEventListener("click", openComposer);
$("#new-event-form").addEventListener("submit", postEvent);
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
