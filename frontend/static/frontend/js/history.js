// History: daily/weekly/monthly sales for the selection, zoomable, optionally one line per store or item.
import { api } from "./api.js";
import { axis, baseOption, createChart, dateAxis, tokens } from "./chart.js";
import { downloadCsv, escapeHtml, fmtDay, fmtUnits, periodEnd, periodOf, periodsBetween, unitLabel } from "./format.js";
import { loader, panelState } from "./panel.js";
import { bootstrap, inRange, itemName, setState, storeName } from "./state.js";

const section = document.getElementById("history");
const zoomButton = section.querySelector('[data-act="use-zoom"]');
const MAX_COMPARED = 8;
const LABEL = { day: "Daily", week: "Weekly", month: "Monthly" };
let chart = null;
let view = null;
let periods = []; // sorted ISO periods
let lines = []; // [{key, name, values: Map(period -> units)}]
let unit = ""; // the answer's unit when not the default (unitLabel)
let whole = true; // every figure a whole number: whole ticks, as whole-number data always had

/** The first drawn period holding generated sales (the demo's gap fill and live stream), or null. */
function generatedStart() {
  if (!bootstrap.generated_from || !view) return null;
  const first = periodOf(bootstrap.generated_from, view.granularity);
  return periods.find((p) => p >= first) ?? null;
}

/** Shade the generated periods, with a label saying so: they are drawn from the history's profile, not reported. */
function generatedArea(t) {
  const start = generatedStart();
  if (!start) return undefined;
  return {
    silent: true,
    itemStyle: { color: t.band95, opacity: 0.6 },
    label: { show: true, position: "insideTopRight", formatter: "Generated sample", color: t.muted },
    data: [[{ xAxis: start }, { xAxis: periods.at(-1) }]],
  };
}

function render({ keepZoom = false } = {}) {
  const t = tokens();
  const base = baseOption(t);
  const single = lines.length === 1;
  const option = {
    ...base,
    legend: { ...base.legend, show: !single, data: lines.map((l) => l.name) },
    grid: { ...base.grid, top: single ? 16 : 36, bottom: 48, right: 32 }, // room for the "so far" label
    tooltip: {
      ...base.tooltip,
      // From the data itself: the dashed "so far" piece must not show up as a second value.
      formatter(params) {
        const period = periods[params[0].dataIndex];
        const partial = period === periodOf(bootstrap.today, view.granularity);
        const rows = lines.map(
          (l, i) =>
            `<span style="color:${t.series[i % t.series.length]}">●</span> ${escapeHtml(l.name)}: <b>${l.values.has(period) ? `${fmtUnits(l.values.get(period))}${unit ? ` ${escapeHtml(unit)}` : ""}` : "no data"}</b>`,
        );
        return [`<b>${fmtDay(period)}</b>${partial ? " (so far)" : ""}`, ...rows].join("<br>");
      },
    },
    xAxis: dateAxis(t, periods),
    yAxis: axis(t, {
      type: "value",
      // Whole-number data keeps whole ticks; fractional units (kilograms) may need finer ones.
      minInterval: whole ? 1 : 0,
      name: unit,
      nameTextStyle: { color: t.muted },
      axisLabel: { ...base.yAxis.axisLabel, formatter: (v) => fmtUnits(v) },
    }),
    dataZoom: [
      { type: "inside", filterMode: "none" },
      {
        type: "slider",
        height: 22,
        bottom: 6,
        borderColor: t.border,
        textStyle: { color: t.muted },
        labelFormatter: (i) => fmtDay(periods[i]),
        brushSelect: true,
      },
    ],
    series: lines.flatMap((line, i) => {
      const color = t.series[i % t.series.length];
      const data = periods.map((p) => line.values.get(p) ?? null);
      // The period holding today is still filling up: a lone hollow marker, not a collapse of the line.
      const partial = periods.length > 1 && periods.at(-1) === periodOf(bootstrap.today, view.granularity);
      const soFar = partial ? data.map((v, j) => (j === data.length - 1 ? v : null)) : null;
      if (partial) data[data.length - 1] = null;
      return [
        {
          name: line.name,
          type: "line",
          showSymbol: periods.length < 60,
          symbolSize: 5,
          sampling: "lttb",
          data,
          lineStyle: { width: single ? 2 : 1.6 },
          emphasis: { focus: "series" },
          areaStyle: single ? { opacity: 0.12 } : undefined,
          color,
          markArea: i === 0 ? generatedArea(t) : undefined,
        },
        ...(partial
          ? [
              {
                name: line.name,
                type: "line",
                data: soFar,
                color,
                showSymbol: true,
                showAllSymbol: true,
                symbol: "emptyCircle",
                symbolSize: 8,
                label: { show: single, position: "top", formatter: "so far", color: t.muted },
              },
            ]
          : []),
      ];
    }),
  };
  if (keepZoom && chart) {
    const [zoom] = chart.getOption().dataZoom || [];
    if (zoom) for (const dz of option.dataZoom) Object.assign(dz, { start: zoom.start, end: zoom.end });
  }
  chart.setOption(option, { notMerge: true });
}

function subtitle() {
  const what = view.compare
    ? `${lines.length} ${view.compare === "store" ? "stores" : "items"} compared`
    : "all selected sales";
  const range =
    view.dateFrom || view.dateTo
      ? `${fmtDay(view.dateFrom)} – ${view.dateTo ? fmtDay(view.dateTo) : "today"}`
      : "all time";
  const generated = generatedStart() ? ` · shaded from ${fmtDay(generatedStart())}: generated sample` : "";
  section.querySelector("#history-sub").textContent = `${LABEL[view.granularity]} · ${range} · ${what}${generated}`;
}

export const load = loader(section, async (signal, nextView) => {
  view = nextView;
  const groupBy = view.compare || null;
  let compared = view;
  if (groupBy && !(groupBy === "store" ? view.stores : view.items).length) {
    // Without a selection, the biggest few: asked of the ranking, so that only their lines are read.
    const top = await api.breakdown(view, { by: groupBy, top: MAX_COMPARED }, { signal });
    const keys = top.rows.map((r) => r.id);
    if (keys.length) compared = { ...view, [groupBy === "store" ? "stores" : "items"]: keys };
  }
  const data = await api.aggregated(compared, { granularity: view.granularity, group_by: groupBy }, { signal });
  const rows = data.results || [];
  unit = unitLabel(data);
  whole = rows.every((r) => Number.isInteger(r.sales));
  const present = [...new Set(rows.map((r) => r.period))].sort();
  periods = present.length ? periodsBetween(present[0], present.at(-1), view.granularity) : [];
  if (groupBy) {
    const chosen = new Set(groupBy === "store" ? view.stores : view.items);
    const totals = new Map();
    for (const r of rows)
      if (!chosen.size || chosen.has(r[groupBy])) totals.set(r[groupBy], (totals.get(r[groupBy]) || 0) + r.sales);
    // Without a selection, compare the biggest few: fifty lines would be unreadable.
    const keys = [...totals.keys()]
      .sort((a, b) => totals.get(b) - totals.get(a))
      .slice(0, MAX_COMPARED)
      .sort((a, b) => a - b);
    const nameOf = groupBy === "store" ? storeName : itemName;
    lines = keys.map((key) => ({ key, name: nameOf(key), values: new Map() }));
    const byKey = new Map(lines.map((l) => [l.key, l]));
    for (const r of rows) byKey.get(r[groupBy])?.values.set(r.period, r.sales);
  } else {
    lines = [{ key: null, name: "Sales", values: new Map(rows.map((r) => [r.period, r.sales])) }];
  }
  chart ||= createChart(section.querySelector(".chart"), () => chart && periods.length && render({ keepZoom: true }));
  subtitle();
  zoomButton.hidden = true;
  if (!periods.length) {
    chart.clear();
    panelState(section, "empty", { title: "No sales in this range", message: "Pick a longer range or fewer filters." });
    return;
  }
  panelState(section, "ready");
  render();
});

export function applyBatch(event, share) {
  if (!chart || !periods.length || !share.total || !inRange(view, event.date)) return;
  const period = periodOf(event.date, view.granularity);
  if (period > periods.at(-1)) periods.push(...periodsBetween(periods.at(-1), period, view.granularity).slice(1));
  else if (!periods.includes(period)) return; // an old day outside what is drawn
  for (const line of lines) {
    const units =
      line.key == null ? share.total : (view.compare === "store" ? share.byStore : share.byItem).get(line.key) || 0;
    if (units) line.values.set(period, (line.values.get(period) || 0) + units);
  }
  render({ keepZoom: true });
}

export function init() {
  chart ||= createChart(section.querySelector(".chart"), () => chart && periods.length && render({ keepZoom: true }));
  chart.on("datazoom", () => {
    const [zoom] = chart.getOption().dataZoom;
    zoomButton.hidden = zoom.start <= 0 && zoom.end >= 100;
  });
  zoomButton.addEventListener("click", () => {
    const [zoom] = chart.getOption().dataZoom;
    const from = periods[zoom.startValue ?? Math.floor((zoom.start / 100) * (periods.length - 1))];
    const last = periods[zoom.endValue ?? Math.ceil((zoom.end / 100) * (periods.length - 1))];
    setState({ range: "custom", from, to: periodEnd(last, view.granularity) });
  });
  section.querySelector('[data-act="csv"]').addEventListener("click", () => {
    const key = view.compare || null;
    const rows = [];
    for (const p of periods)
      for (const line of lines)
        rows.push({ period: p, ...(key ? { [key]: line.key } : {}), sales: line.values.get(p) });
    downloadCsv(`sales-${view.granularity}.csv`, ["period", ...(key ? [key] : []), "sales"], rows);
  });
}

export const historyData = () => ({ periods, lines });
