// Filter state. The URL is the source of truth (a link reproduces the view; reload restores it):
//   ?g=day|week|month&range=30d|90d|1y|all|custom&from=YYYY-MM-DD&to=YYYY-MM-DD&store=1,2&item=3
//   &region=CA&category=FOODS&department=FOODS_3&compare=store|item&breakdown=store|item|heatmap|region|category|department
import { addDays } from "./format.js";

export const bootstrap = JSON.parse(document.getElementById("dashboard-bootstrap").textContent);

// A weekly history (bootstrap.frequency "W", one row a week) is shown by week: by day it would be
// six empty days between each two weeks, so "day" is not offered (a ?g=day link reads as week).
export const weekly = bootstrap.frequency === "W";
const DEFAULTS = {
  g: weekly ? "week" : "day",
  range: "1y",
  from: "",
  to: "",
  store: [],
  item: [],
  region: [],
  category: [],
  department: [],
  compare: "",
  breakdown: "store",
};
// The hierarchy's levels: a region holds stores; a category holds departments, a department items.
export const LEVELS = ["region", "category", "department"];
const PRESET_DAYS = { "30d": 30, "90d": 90, "1y": 365 };
const CHOICES = {
  g: weekly ? ["week", "month"] : ["day", "week", "month"],
  range: ["30d", "90d", "1y", "all", "custom"],
  compare: ["", "store", "item"],
  breakdown: ["store", "item", "heatmap", ...(bootstrap.hierarchy_reads ? LEVELS : [])],
};
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

const listeners = new Set();
let current = read(location.search);

/** Codes sort as people read them: "2" before "10", "CA_2" before "CA_10". */
export function byCode(a, b) {
  return a.localeCompare(b, undefined, { numeric: true });
}

/** Store, item or level codes from the URL (`CA_1,CA_2`): text, as the API takes them. */
function codes(text) {
  const list = (text || "")
    .split(",")
    .map((code) => code.trim())
    .filter((code) => code && code.length <= 64);
  return [...new Set(list)].sort(byCode);
}

// Names by code, from the bootstrap (the URL's selection) and API answers: never the whole catalogue.
// Other pages (alerts) import the API module, and through it this one, with a bootstrap of their own.
const named = bootstrap.named ?? { stores: [], items: [] };
const names = { store: new Map(), item: new Map(), region: new Map(), category: new Map(), department: new Map() };
for (const [kind, list] of [
  ["store", named.stores],
  ["item", named.items],
])
  for (const { code, name } of list) names[kind].set(code, name);

export function rememberNames(kind, rows, key = "code") {
  for (const row of rows || []) if (row[key] != null && row.name) names[kind].set(String(row[key]), row.name);
}

function read(search) {
  const params = new URLSearchParams(search);
  const state = { ...DEFAULTS };
  for (const key of ["g", "range", "compare", "breakdown"]) {
    const value = params.get(key);
    if (value != null && CHOICES[key].includes(value)) state[key] = value;
  }
  for (const key of ["from", "to"]) {
    const value = params.get(key);
    if (value && ISO_DAY.test(value)) state[key] = value;
  }
  for (const key of ["store", "item", ...LEVELS]) state[key] = codes(params.get(key));
  if (state.range === "custom" && !state.from && !state.to) state.range = DEFAULTS.range;
  if (state.range !== "custom") state.from = state.to = "";
  return state;
}

function write(state) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    const text = Array.isArray(value) ? value.join(",") : value;
    const fallback = Array.isArray(DEFAULTS[key]) ? DEFAULTS[key].join(",") : DEFAULTS[key];
    if (text !== fallback) params.set(key, text);
  }
  const text = params.toString().replaceAll("%2C", ",");
  return text ? `?${text}` : location.pathname;
}

export const getState = () => current;

/** Change some filters, record them in the URL (one history entry per change) and tell every listener. */
export function setState(patch) {
  const next = { ...current, ...patch };
  if (next.range !== "custom") next.from = next.to = "";
  const changed = Object.keys(next).filter((k) => String(next[k]) !== String(current[k]));
  if (!changed.length) return;
  current = next;
  history.pushState(null, "", write(current));
  for (const listener of listeners) listener(current, new Set(changed));
}

export function resetState() {
  setState({ ...DEFAULTS });
}

export function onStateChange(listener) {
  listeners.add(listener);
}

window.addEventListener("popstate", () => {
  const previous = current;
  current = read(location.search);
  const changed = new Set(Object.keys(current).filter((k) => String(current[k]) !== String(previous[k])));
  if (changed.size) for (const listener of listeners) listener(current, changed);
});

/** What the panels ask the API for. Presets count back from the last day with data and stay
 *  open-ended (no date_to), so live sales recorded today fall inside them. */
export function resolve(state = current) {
  let dateFrom = null;
  let dateTo = null;
  if (state.range === "custom") {
    dateFrom = state.from || null;
    dateTo = state.to || null;
  } else if (PRESET_DAYS[state.range] && bootstrap.date_to) {
    dateFrom = addDays(bootstrap.date_to, 1 - PRESET_DAYS[state.range]);
  }
  return {
    granularity: state.g,
    stores: state.store,
    items: state.item,
    // Without hierarchy reads in the API the level pickers only narrow the store and item pickers.
    regions: bootstrap.hierarchy_reads ? state.region : [],
    categories: bootstrap.hierarchy_reads ? state.category : [],
    departments: bootstrap.hierarchy_reads ? state.department : [],
    dateFrom,
    dateTo,
    compare: state.compare,
    range: state.range,
  };
}

export const inRange = (view, iso) => (!view.dateFrom || iso >= view.dateFrom) && (!view.dateTo || iso <= view.dateTo);

/** Units of a live batch that fall inside the store/item selection, in total and per store and item. A `sales` event
 *  carries per-store and per-item summaries ([[id, units], ...]); a stream opened with store/item filters also gets
 *  the batch's rows inside them. Without rows, a selection on both stores and items cannot be answered (0). */
export function batchShare(view, event) {
  const stores = new Set(view.stores);
  const items = new Set(view.items);
  const share = { total: 0, byStore: new Map(), byItem: new Map() };
  // A batch names stores and items, not their places in the hierarchy: under a level filter the panels
  // take their figures from the API (the stream's reload), not from the batch.
  if (view.regions?.length || view.categories?.length || view.departments?.length) return share;
  const add = (map, id, units) => map.set(id, (map.get(id) || 0) + units);
  if (event.rows) {
    for (const row of event.rows) {
      if ((stores.size && !stores.has(row.store)) || (items.size && !items.has(row.item))) continue;
      share.total += row.quantity;
      add(share.byStore, row.store, row.quantity);
      add(share.byItem, row.item, row.quantity);
    }
    return share;
  }
  if (stores.size && items.size) return share;
  for (const [id, units] of items.size ? [] : event.stores || [])
    if (!stores.size || stores.has(id)) add(share.byStore, id, units);
  for (const [id, units] of stores.size ? [] : event.items || [])
    if (!items.size || items.has(id)) add(share.byItem, id, units);
  for (const units of (items.size ? share.byItem : share.byStore).values()) share.total += units;
  return share;
}

export const storeName = (code) => names.store.get(String(code)) ?? String(code);
export const itemName = (code) => names.item.get(String(code)) ?? String(code);
/** The name of a store, an item or a level's node by code (the code itself when the data names none). */
export const nameOf = (kind, code) => names[kind].get(String(code)) || String(code);
