// Breakdown of the selected range: stores, items, regions, categories or departments ranked (the top or
// bottom N, the rest as "other", paged), or store x item for the leading ones (heatmap). A level's bar drills
// down: a category to its departments, a department to its items, a region to its stores. Every request asks the API for a ranked page,
// so the answers stay small whatever the number of items.
import { api } from "./api.js";
import { axis, baseOption, createChart, tokens } from "./chart.js";
import { downloadCsv, escapeHtml, fmtBig, fmtBigUnits, fmtDay, fmtInt, fmtUnits, unitWord } from "./format.js";
import { loader, panelState } from "./panel.js";
import { bootstrap, byCode, getState, inRange, itemName, LEVELS, setState, storeName } from "./state.js";

const TOP = 15; // bars per page
const GRID = 20; // stores and items in the heatmap
const CSV_PAGE = 1000; // the API's largest page
// A live batch for the whole selection comes as per-store and per-item sums (the event stays small at any
// size), which cannot say which cells grew: the heatmap re-reads its grid instead, at most this often.
const CELLS_REFRESH_MS = 10_000;

const section = document.getElementById("breakdown");
const pager = section.querySelector(".pager");
let chart = null;
let view = null;
let order = "desc";
let offset = 0;
let ranking = null; // the API's answer for the bars: {by, total, count, rows, other}
let cells = null; // {stores, items, units: Map("store:item" -> units)}, loaded on demand for the heatmap
let cellsLoadedAt = 0;
let cellsTimer = null;

const WORDS = { store: "stores", item: "items", region: "regions", category: "categories", department: "departments" };
// Clicking a node of a level shows what it holds.
const DRILL = { region: "store", category: "department", department: "item" };

const mode = () => getState().breakdown;
const kind = () => (mode() === "heatmap" ? "store" : mode());
const plural = (by, count) => (count === 1 ? by : WORDS[by]);
const share = (units, total) => (total ? `${((units / total) * 100).toFixed(1)} %` : "–");

function otherLabel() {
  return `Other ${fmtInt(ranking.other.count)} ${plural(ranking.by, ranking.other.count)}`;
}

function renderBars() {
  const t = tokens();
  const base = baseOption(t);
  // A level's units outside the hierarchy come as a row without a code.
  const rows = ranking.rows.map((r) => ({
    name: r.id == null ? "Unassigned" : r.name || r.id,
    value: r.sales,
    code: r.id,
  }));
  // "Other" usually outweighs every ranked bar: the axis is scaled to the ranked ones, and its bar is cut at the
  // edge with its figure written on it, so the ranked bars stay readable.
  const largest = Math.max(1, ...rows.map((r) => r.value));
  const step = 10 ** (Math.floor(Math.log10(largest * 1.25)) - 1);
  const edge = Math.ceil((largest * 1.25) / step) * step; // a round figure at the axis' end
  if (ranking.other.count) {
    rows.push({
      name: otherLabel(),
      value: Math.min(ranking.other.sales, edge),
      exact: ranking.other.sales,
      itemStyle: { color: t.muted, opacity: 0.45 },
      label: { position: ranking.other.sales > edge ? "insideRight" : "right", color: t.text },
    });
  }
  const unitsOf = (p) => p.data.exact ?? p.value;
  chart.setOption(
    {
      ...base,
      legend: { show: false },
      grid: { ...base.grid, left: 12, top: 4, right: 72 },
      tooltip: {
        ...base.tooltip,
        trigger: "item",
        formatter: (p) =>
          `<b>${escapeHtml(p.name)}</b><br>${fmtUnits(unitsOf(p))} ${escapeHtml(unitWord(ranking))} · ${share(unitsOf(p), ranking.total)}`,
      },
      // Ranked from the top down: the first row is the first rank on the page.
      yAxis: axis(t, {
        type: "category",
        inverse: true,
        data: rows.map((r) => r.name),
        axisLabel: { ...base.yAxis.axisLabel, hideOverlap: false, width: 150, overflow: "truncate" },
      }),
      xAxis: axis(t, {
        type: "value",
        max: ranking.other.sales > edge ? edge : null,
        // Room past the longest bar for its figure, on a round tick (without it the label ran off the chart).
        boundaryGap: [0, "25%"],
        axisLabel: { ...base.xAxis.axisLabel, formatter: (v) => fmtBig(v) },
      }),
      series: [
        {
          type: "bar",
          name: "Sales",
          data: rows,
          itemStyle: { color: t.accent, borderRadius: [0, 3, 3, 0] },
          barMaxWidth: 22,
          label: {
            show: true,
            position: "right",
            color: t.muted,
            formatter: (p) => `${fmtBigUnits(unitsOf(p))} · ${share(unitsOf(p), ranking.total)}`,
          },
        },
      ],
    },
    { notMerge: true },
  );
  drawPager();
}

function drawPager() {
  const shown = ranking.rows.length;
  const word = WORDS[ranking.by];
  const first = shown ? offset + 1 : 0;
  const last = offset + shown;
  const label = order === "desc" ? "best first" : "worst first";
  pager.querySelector(".pager__where").textContent =
    `${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(ranking.count)} ${word}, ${label}`;
  pager.querySelector('[data-page="prev"]').disabled = offset === 0;
  pager.querySelector('[data-page="next"]').disabled = last >= ranking.count;
  for (const button of pager.querySelectorAll("[data-order]"))
    button.setAttribute("aria-pressed", String(button.dataset.order === order));
}

function renderHeatmap() {
  const t = tokens();
  const base = baseOption(t);
  const data = [];
  let max = 0;
  for (const [si, s] of cells.stores.entries())
    for (const [ii, i] of cells.items.entries()) {
      const v = cells.units.get(`${s}\u0000${i}`) || 0;
      max = Math.max(max, v);
      data.push([ii, si, v]);
    }
  chart.setOption(
    {
      ...base,
      legend: { show: false },
      grid: { ...base.grid, top: 8, bottom: 44 },
      tooltip: {
        ...base.tooltip,
        trigger: "item",
        formatter: (p) =>
          `${escapeHtml(storeName(cells.stores[p.value[1]]))} · ${escapeHtml(itemName(cells.items[p.value[0]]))}<br><b>${fmtUnits(p.value[2])}</b>`,
      },
      xAxis: axis(t, {
        type: "category",
        data: cells.items.map(String),
        name: "item",
        nameLocation: "middle",
        nameGap: 24,
        splitArea: { show: false },
      }),
      yAxis: axis(t, { type: "category", data: cells.stores.map((s) => storeName(s)), splitArea: { show: false } }),
      visualMap: {
        min: 0,
        max: max || 1,
        calculable: false,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        itemHeight: 120,
        itemWidth: 10,
        textStyle: { color: t.muted },
        inRange: { color: [t.surface2, t.accent] },
        show: false,
      },
      series: [{ type: "heatmap", data, emphasis: { itemStyle: { borderColor: t.text, borderWidth: 1 } } }],
    },
    { notMerge: true },
  );
}

function render() {
  pager.hidden = mode() === "heatmap";
  if (mode() === "heatmap" && cells) renderHeatmap();
  else if (ranking) renderBars();
}

/** The leading stores and items of the selection (at most GRID each), and one small ranked request per store. */
async function loadCells(signal) {
  const lead = { top: GRID, order: "desc" };
  const [stores, items] = await Promise.all([
    api.breakdown(view, { ...lead, by: "store" }, { signal }),
    api.breakdown(view, { ...lead, by: "item" }, { signal }),
  ]);
  const grid = {
    stores: stores.rows.map((r) => r.id).sort(byCode),
    items: items.rows.map((r) => r.id).sort(byCode),
    units: new Map(),
  };
  const parts = await Promise.all(
    grid.stores.map((s) =>
      api.breakdown({ ...view, stores: [s], items: grid.items }, { ...lead, by: "item" }, { signal }),
    ),
  );
  parts.forEach((part, index) => {
    for (const row of part.rows) grid.units.set(`${grid.stores[index]}\u0000${row.id}`, row.sales);
  });
  cellsLoadedAt = Date.now();
  return grid;
}

/** Re-read the heatmap's grid in the background, once, no sooner than CELLS_REFRESH_MS after the last read. */
function cellsRefreshSoon() {
  if (cellsTimer) return;
  const wait = Math.max(1000, cellsLoadedAt + CELLS_REFRESH_MS - Date.now());
  cellsTimer = setTimeout(async () => {
    cellsTimer = null;
    const asked = view;
    if (mode() !== "heatmap" || !cells) return;
    try {
      const grid = await loadCells();
      if (view === asked && mode() === "heatmap" && cells) {
        cells = grid;
        render();
      }
    } catch (error) {
      console.warn("breakdown: heatmap refresh:", error.message); // the grid on screen stays; the next batch retries
    }
  }, wait);
}

async function loadRanking(signal) {
  ranking = await api.breakdown(view, { by: kind(), top: TOP, order, offset }, { signal });
}

export const load = loader(section, async (signal, nextView) => {
  if (nextView !== view) offset = 0;
  view = nextView;
  syncButtons(); // a drill-down changes the view and the filters at once
  chart ||= createChart(section.querySelector(".chart"), () => render());
  cells = null;
  const range =
    view.dateFrom || view.dateTo
      ? `${fmtDay(view.dateFrom)} – ${view.dateTo ? fmtDay(view.dateTo) : "today"}`
      : "all time";
  await loadRanking(signal);
  const hint = DRILL[mode()] ? ` · click a bar for its ${WORDS[DRILL[mode()]]}` : "";
  section.querySelector("#breakdown-sub").textContent =
    `${range} · ${fmtBigUnits(ranking.total)} ${unitWord(ranking)}${hint}`;
  section.querySelector("#breakdown-sub").title = `${fmtUnits(ranking.total)} ${unitWord(ranking)}`;
  if (!ranking.total) {
    chart.clear();
    pager.hidden = true;
    panelState(section, "empty", { title: "Nothing to break down", message: "No sales in this range and selection." });
    return;
  }
  if (mode() === "heatmap") cells = await loadCells(signal);
  panelState(section, "ready");
  render();
});

/** A live batch: the bars on this page grow in place, the rest of the selection goes to "other". */
export function applyBatch(event, batch) {
  if (!chart || !ranking?.total || !batch.total || !inRange(view, event.date)) return;
  if (LEVELS.includes(ranking.by)) return; // a batch says nothing of levels: the stream's reload does
  const per = ranking.by === "store" ? batch.byStore : batch.byItem;
  let onPage = 0;
  for (const row of ranking.rows) {
    const units = per.get(row.id) || 0;
    row.sales += units;
    onPage += units;
  }
  ranking.total += batch.total;
  ranking.other.sales += batch.total - onPage;
  if (cells && !event.rows) cellsRefreshSoon();
  else if (cells) {
    for (const r of event.rows) {
      const key = `${r.store}\u0000${r.item}`;
      if (cells.units.has(key) || (cells.stores.includes(r.store) && cells.items.includes(r.item)))
        cells.units.set(key, (cells.units.get(key) || 0) + r.quantity);
    }
  }
  render();
}

function syncButtons() {
  for (const button of section.querySelectorAll("[data-view]"))
    button.setAttribute("aria-pressed", String(button.dataset.view === mode()));
}

/** Switching the view: a new ranking from the first page (the heatmap fetches its grid). */
export async function showView() {
  syncButtons();
  if (!view) return;
  offset = 0;
  await load(view);
}

async function page(changes) {
  ({ order = order, offset = offset } = changes);
  await load(view);
  pager.querySelector(".pager__where").focus?.();
}

async function csvRows() {
  const rows = [];
  for (let at = 0; ; at += CSV_PAGE) {
    const part = await api.breakdown(view, { by: kind(), top: CSV_PAGE, order: "desc", offset: at });
    rows.push(...part.rows);
    if (!part.other.count || part.rows.length < CSV_PAGE || at + CSV_PAGE >= part.count) return rows;
  }
}

/** A level's bar clicked: filter to that node and rank what it holds. */
function drill(params) {
  const by = ranking?.by;
  const code = params.data?.code;
  if (!DRILL[by] || code == null) return;
  setState({ [by]: [code], breakdown: DRILL[by] });
}

export function init() {
  for (const button of section.querySelectorAll("[data-level]")) button.hidden = !bootstrap.hierarchy_reads;
  syncButtons();
  chart ||= createChart(section.querySelector(".chart"), () => render());
  chart.on("click", drill);
  for (const button of section.querySelectorAll("[data-view]"))
    button.addEventListener("click", () => setState({ breakdown: button.dataset.view }));
  pager.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button || !ranking) return;
    if (button.dataset.order) page({ order: button.dataset.order, offset: 0 });
    if (button.dataset.page === "prev") page({ offset: Math.max(0, offset - TOP) });
    if (button.dataset.page === "next") page({ offset: offset + TOP });
  });
  section.querySelector('[data-act="csv"]').addEventListener("click", async () => {
    if (mode() === "heatmap" && cells) {
      const rows = [...cells.units.entries()].map(([key, sales]) => ({
        store: key.slice(0, key.indexOf("\u0000")),
        item: key.slice(key.indexOf("\u0000") + 1),
        sales,
      }));
      downloadCsv("breakdown-store-item.csv", ["store", "item", "sales"], rows);
      return;
    }
    const by = kind();
    const rows = (await csvRows()).map((r) => ({ [by]: r.id, name: r.name, sales: r.sales }));
    downloadCsv(`breakdown-${by}.csv`, [by, "name", "sales"], rows);
  });
}
