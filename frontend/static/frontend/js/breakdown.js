// Breakdown of the selected range: by store, by item (bars) or store x item (heatmap).
import { api } from "./api.js";
import { axis, baseOption, createChart, tokens } from "./chart.js";
import { downloadCsv, escapeHtml, fmtDay, fmtInt } from "./format.js";
import { loader, panelState } from "./panel.js";
import { bootstrap, getState, inRange, itemName, setState, storeName } from "./state.js";

const section = document.getElementById("breakdown");
let chart = null;
let view = null;
let totals = { store: new Map(), item: new Map() };
let cells = null; // Map("store:item" -> units), loaded on demand for the heatmap

function current() {
  return getState().breakdown;
}

function renderBars(kind) {
  const t = tokens();
  const base = baseOption(t);
  const entries = [...totals[kind].entries()].sort((a, b) => b[1] - a[1]);
  const nameOf = kind === "store" ? storeName : itemName;
  const sum = entries.reduce((s, [, v]) => s + v, 0);
  chart.setOption({
    ...base,
    legend: { show: false },
    grid: { ...base.grid, top: 12, bottom: entries.length > 12 ? 40 : 12 },
    tooltip: { ...base.tooltip, trigger: "axis", axisPointer: { type: "shadow" }, formatter: ([p]) => `<b>${escapeHtml(p.name)}</b><br>${fmtInt(p.value)} · ${((p.value / sum) * 100).toFixed(1)} %` },
    xAxis: axis(t, { type: "category", data: entries.map(([k]) => nameOf(k)), axisLabel: { ...base.xAxis.axisLabel, interval: 0, rotate: entries.length > 12 ? 60 : 0, formatter: (n) => (entries.length > 12 ? n.replace(/^Item /, "") : n) } }),
    yAxis: axis(t, { type: "value", axisLabel: { ...base.yAxis.axisLabel, formatter: (v) => fmtInt(v) } }),
    dataZoom: entries.length > 25 ? [{ type: "inside", start: 0, end: 100 }] : [],
    series: [{ type: "bar", name: "Sales", data: entries.map(([, v]) => v), itemStyle: { color: t.accent, borderRadius: [3, 3, 0, 0] }, barMaxWidth: 48 }],
  }, { notMerge: true });
}

function renderHeatmap() {
  const t = tokens();
  const base = baseOption(t);
  const stores = [...totals.store.keys()].sort((a, b) => a - b);
  const items = [...totals.item.keys()].sort((a, b) => a - b);
  const data = [];
  let max = 0;
  for (const [si, s] of stores.entries()) for (const [ii, i] of items.entries()) {
    const v = cells.get(`${s}:${i}`) || 0;
    max = Math.max(max, v);
    data.push([ii, si, v]);
  }
  chart.setOption({
    ...base,
    legend: { show: false },
    grid: { ...base.grid, top: 8, bottom: 44 },
    tooltip: { ...base.tooltip, trigger: "item", formatter: (p) => `${escapeHtml(storeName(stores[p.value[1]]))} · ${escapeHtml(itemName(items[p.value[0]]))}<br><b>${fmtInt(p.value[2])}</b>` },
    xAxis: axis(t, { type: "category", data: items.map(String), name: "item", nameLocation: "middle", nameGap: 24, splitArea: { show: false } }),
    yAxis: axis(t, { type: "category", data: stores.map((s) => storeName(s)), splitArea: { show: false } }),
    visualMap: { min: 0, max: max || 1, calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, itemWidth: 10, textStyle: { color: t.muted }, inRange: { color: [t.surface2, t.accent] }, show: false },
    series: [{ type: "heatmap", data, emphasis: { itemStyle: { borderColor: t.text, borderWidth: 1 } } }],
  }, { notMerge: true });
}

function render() {
  const mode = getState().breakdown;
  if (mode === "heatmap" && cells) renderHeatmap();
  else renderBars(mode === "item" ? "item" : "store");
}

function sumBy(rows, key) {
  const map = new Map();
  for (const r of rows) map.set(r[key], (map.get(r[key]) || 0) + r.sales);
  return map;
}

async function loadCells(signal) {
  // The API groups by one key at a time: one small request per store gives the store x item grid.
  const stores = view.stores.length ? view.stores : bootstrap.stores.map((s) => s.id);
  const parts = await Promise.all(stores.map((s) => api.aggregated({ ...view, stores: [s] }, { granularity: "month", group_by: "item" }, { signal })));
  cells = new Map();
  parts.forEach((part, index) => {
    for (const [item, units] of sumBy(part.results || [], "item")) cells.set(`${stores[index]}:${item}`, units);
  });
}

export const load = loader(section, async (signal, nextView) => {
  view = nextView;
  chart ||= createChart(section.querySelector(".chart"), () => totals.store.size && render());
  const month = { granularity: "month" };
  const [byStore, byItem] = await Promise.all([
    api.aggregated(view, { ...month, group_by: "store" }, { signal }),
    api.aggregated(view, { ...month, group_by: "item" }, { signal }),
  ]);
  totals = { store: sumBy(byStore.results || [], "store"), item: sumBy(byItem.results || [], "item") };
  cells = null;
  const range = view.dateFrom || view.dateTo ? `${fmtDay(view.dateFrom)} – ${view.dateTo ? fmtDay(view.dateTo) : "today"}` : "all time";
  section.querySelector("#breakdown-sub").textContent = range;
  if (!totals.store.size) {
    chart.clear();
    panelState(section, "empty", { title: "Nothing to break down", message: "No sales in this range and selection." });
    return;
  }
  if (current() === "heatmap") await loadCells(signal);
  panelState(section, "ready");
  render();
});

export function applyBatch(event, share) {
  if (!chart || !share.total || !totals.store.size || !inRange(view, event.date)) return;
  for (const [s, v] of share.byStore) totals.store.set(s, (totals.store.get(s) || 0) + v);
  for (const [i, v] of share.byItem) totals.item.set(i, (totals.item.get(i) || 0) + v);
  if (cells) {
    const stores = new Set(view.stores);
    const items = new Set(view.items);
    for (const r of event.rows || []) {
      if ((stores.size && !stores.has(r.store)) || (items.size && !items.has(r.item))) continue;
      cells.set(`${r.store}:${r.item}`, (cells.get(`${r.store}:${r.item}`) || 0) + r.quantity);
    }
  }
  render();
}

function syncButtons() {
  for (const button of section.querySelectorAll("[data-view]")) button.setAttribute("aria-pressed", String(button.dataset.view === current()));
}

/** Switching the view only redraws (the heatmap fetches its grid the first time). */
export async function showView() {
  syncButtons();
  if (!view || !totals.store.size) return;
  if (current() === "heatmap" && !cells) {
    await load(view);
    return;
  }
  render();
}

export function init() {
  syncButtons();
  for (const button of section.querySelectorAll("[data-view]")) button.addEventListener("click", () => setState({ breakdown: button.dataset.view }));
  section.querySelector('[data-act="csv"]').addEventListener("click", () => {
    const mode = current();
    if (mode === "heatmap" && cells) {
      const rows = [...cells.entries()].map(([key, sales]) => ({ store: Number(key.split(":")[0]), item: Number(key.split(":")[1]), sales }));
      downloadCsv("breakdown-store-item.csv", ["store", "item", "sales"], rows);
    } else {
      const kind = mode === "item" ? "item" : "store";
      const nameOf = kind === "store" ? storeName : itemName;
      downloadCsv(`breakdown-${kind}.csv`, [kind, "name", "sales"], [...totals[kind].entries()].map(([k, sales]) => ({ [kind]: k, name: nameOf(k), sales })));
    }
  });
}
