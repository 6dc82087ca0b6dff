// Forecast: recent history, the forecast with its 80 % and 95 % bands, actuals drawn over it as they arrive,
// and the model's measured accuracy. One series: the total, or one store and/or item when exactly one is selected.
import { api } from "./api.js";
import { axis, baseOption, createChart, dateAxis, intervalBand, tokens } from "./chart.js";
import { dayFraction, downloadCsv, el, fmtDay, fmtInt, fmtTenths } from "./format.js";
import { loader, panelState } from "./panel.js";
import { batchShare, itemName, storeName } from "./state.js";

const section = document.getElementById("forecast");
const accuracyBox = section.querySelector("#forecast-accuracy");
let chart = null;
let data = null; // the predictions answer, with actuals updated live
// The forecast starts tomorrow; today (its whole-day forecast and its actual so far) comes apart, as a partial day.
const fittedDays = () => (data ? [...(data.today ? [data.today] : []), ...data.forecast] : []);

const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);
// Short names of the candidate models (the API's model.id); model.name has the long one.
const MODEL_LABELS = {
  calendar: "Own calendar + ARIMA",
  pooled: "Company calendar + ARIMA",
  seasonal_naive: "Seasonal naive",
  last_year: "Same day last year",
};
const fmtMonthDay = (md) =>
  new Date(`2000-${md}T00:00:00`).toLocaleDateString(undefined, { month: "short", day: "numeric" });

/** A holiday effect's label: a country holiday by its name, a fixed date learnt from the history by its day. */
const holidayLabel = (h) => h.name || fmtMonthDay(h.date);
/** The dates the model learnt: closures, then the strongest holiday effects. */
function holidayText(m) {
  const closed = (m.closures || []).map((d) => `${fmtMonthDay(d)} closed`);
  const effects = [...(m.holidays || [])].sort((a, b) => Math.abs(b.effect) - Math.abs(a.effect));
  const shown = effects
    .slice(0, 3)
    .map((h) => `${holidayLabel(h)} ${h.effect >= 0 ? "+" : "−"}${Math.round(Math.abs(h.effect) * 100)} %`);
  const titled = (h) => (h.name ? `${h.name}${h.date ? ` (next ${h.date})` : ""}` : h.date);
  return {
    text: [...closed, ...shown].join(", ") || "none learnt",
    title: effects.map((h) => `${titled(h)}: ${h.effect >= 0 ? "+" : ""}${Math.round(h.effect * 100)} %`).join("\n"),
  };
}
const gap = (a, b) => (a == null || b == null ? null : b - a);

/** Today's actual is still filling up: label it "so far", so a low point reads as a partial day, not a collapse. */
function partialToday(t) {
  const actual = data.today?.actual;
  if (actual == null) return undefined;
  return {
    silent: true,
    symbol: "emptyCircle",
    symbolSize: 10,
    itemStyle: { color: t.surface, borderColor: t.series[1], borderWidth: 2 },
    label: { show: true, position: "top", formatter: "today so far", color: t.muted },
    data: [{ coord: [data.today.date, actual] }],
  };
}

/** What today should have sold by now: the whole day's expected sales (the mean) times the share of the day gone. */
const expectedByNow = (today) => Math.round((today.mean ?? today.yhat) * dayFraction(new Date()));

function render() {
  const t = tokens();
  const base = baseOption(t);
  const history = new Map(data.actuals.map((a) => [a.date, a.sales]));
  const future = new Map(data.forecast.map((f) => [f.date, f]));
  const today = data.today;
  const dates = [...new Set([...history.keys(), ...(today ? [today.date] : []), ...future.keys()])].sort();
  const pick = (fn) => dates.map((d) => (future.has(d) ? fn(future.get(d)) : null));
  const band = (name, stack, lower, upper, color) =>
    intervalBand({ name, stack, color, lower: pick((f) => f[lower]), width: pick((f) => gap(f[lower], f[upper])) });
  chart.setOption(
    {
      ...base,
      legend: {
        ...base.legend,
        data: [
          "History",
          "Forecast",
          "Actual",
          ...(today ? ["Expected by now"] : []),
          "80 % interval",
          "95 % interval",
        ],
      },
      grid: { ...base.grid, bottom: 12 },
      tooltip: {
        ...base.tooltip,
        formatter(params) {
          const day = dates[params[0].dataIndex];
          const f = future.get(day);
          const lines = [`<b>${fmtDay(day)}</b>`];
          if (history.has(day)) lines.push(`Sales: <b>${fmtInt(history.get(day))}</b>`);
          if (today && day === today.date) {
            lines.push(
              `Actual so far: <b>${fmtInt(today.actual ?? 0)}</b>`,
              `Expected by now: <b>${fmtInt(expectedByNow(today))}</b>`,
              `Expected for the whole day: ${fmtInt(today.mean ?? today.yhat)} (80 %: ${fmtInt(today.lower_80)} – ${fmtInt(today.upper_80)})`,
            );
          }
          if (f) {
            if (f.actual != null) lines.push(`Actual: <b>${fmtInt(f.actual)}</b>`);
            lines.push(
              `Forecast: <b>${fmtInt(f.yhat)}</b>`,
              `80 %: ${fmtInt(f.lower_80)} – ${fmtInt(f.upper_80)}`,
              `95 %: ${fmtInt(f.lower_95)} – ${fmtInt(f.upper_95)}`,
            );
          }
          return lines.join("<br>");
        },
      },
      xAxis: dateAxis(t, dates),
      yAxis: axis(t, {
        type: "value",
        scale: true,
        axisLabel: { ...base.yAxis.axisLabel, formatter: (v) => fmtInt(v) },
      }),
      series: [
        ...band("95 % interval", "b95", "lower_95", "upper_95", t.band95),
        ...band("80 % interval", "b80", "lower_80", "upper_80", t.band80),
        {
          name: "History",
          type: "line",
          data: dates.map((d) => history.get(d) ?? null),
          symbol: "none",
          color: t.muted,
          lineStyle: { width: 1.5 },
        },
        {
          name: "Forecast",
          type: "line",
          data: pick((f) => f.yhat),
          symbol: "none",
          color: t.accent,
          lineStyle: { width: 2, type: "dashed" },
          markLine: data.forecast.length
            ? {
                symbol: "none",
                silent: true,
                label: { formatter: "forecast", color: t.muted },
                lineStyle: { color: t.border },
                data: [{ xAxis: data.forecast[0].date }],
              }
            : undefined,
        },
        {
          name: "Actual",
          type: "line",
          data: dates.map((d) =>
            today && d === today.date ? (today.actual ?? null) : (future.get(d)?.actual ?? null),
          ),
          color: t.series[1],
          symbol: "circle",
          symbolSize: 7,
          showSymbol: true,
          showAllSymbol: true,
          lineStyle: { width: 2 },
          z: 5,
          markPoint: partialToday(t),
        },
        ...(today
          ? [
              {
                // Today is a partial day: its whole-day forecast would read as a collapse next to the sales so far.
                name: "Expected by now",
                type: "scatter",
                data: dates.map((d) => (d === today.date ? expectedByNow(today) : null)),
                color: t.accent,
                symbol: "diamond",
                symbolSize: 10,
                itemStyle: { color: t.surface, borderColor: t.accent, borderWidth: 2 },
                z: 4,
              },
            ]
          : []),
      ],
    },
    { notMerge: true },
  );
}

function describe() {
  const s = data.series || {};
  const what =
    s.level === "total" || !s.level
      ? "All sales"
      : [s.store && storeName(s.store), s.item && itemName(s.item)].filter(Boolean).join(" · ");
  const run = data.run || {};
  const weekly = data.frequency === "W";
  const points = `${data.forecast.length} ${weekly ? "weeks" : "days"}`;
  section.querySelector("#forecast-sub").textContent = `${what} · next ${points}${weekly ? " (by week)" : ""}`;
  const a = data.accuracy || {};
  const m = data.model || {};
  const item = (term, value, title) =>
    el("div", { title: title || "" }, el("dt", { textContent: term }), el("dd", { textContent: value }));
  const better = a.smape != null && a.naive_smape ? Math.round((1 - a.smape / a.naive_smape) * 100) : null;
  accuracyBox.replaceChildren(
    item(
      "SMAPE",
      a.smape != null ? `${fmtTenths(a.smape)} %` : "–",
      weekly
        ? "symmetric mean absolute percentage error over the held-out weeks at the history's end"
        : `symmetric mean absolute percentage error over the last ${a.holdout_days ?? "?"} held-out days`,
    ),
    item(
      "Seasonal naive",
      a.naive_smape != null ? `${fmtTenths(a.naive_smape)} %` : "–",
      "SMAPE of repeating last week's values: the baseline to beat",
    ),
    item("vs naive", better == null ? "–" : better >= 0 ? `${better} % better` : `${-better} % worse`),
    item(
      "Coverage 80/95",
      a.coverage_80 != null ? `${fmtTenths(a.coverage_80)} / ${fmtTenths(a.coverage_95)} %` : "–",
      `share of held-out ${weekly ? "weeks" : "days"} inside each interval`,
    ),
    item(
      "Model",
      m.id ? `${MODEL_LABELS[m.id] || m.id}${m.fallback ? " (fallback)" : ""}` : "–",
      [m.name, data.model_reason && `Chosen: ${data.model_reason}`, m.order && `ARIMA order ${m.order}`]
        .filter(Boolean)
        .join("\n"),
    ),
    item(
      "Point",
      data.point === "median" ? "median" : data.point || "–",
      "the forecast line is the median of the forecast distribution (best for SMAPE on low counts); its mean, which adds up across stores and items, is in the CSV",
    ),
    item("Holidays", holidayText(m).text, holidayText(m).title),
    item(
      "Fitted",
      run.fitted_at
        ? new Date(run.fitted_at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })
        : "–",
      m.training_end ? `trained on ${m.training_start} – ${m.training_end}` : "",
    ),
  );
}

function params(view) {
  // No `days`: the whole published horizon, which is a day shorter between midnight and the nightly refit.
  const p = {};
  if (view.stores.length === 1) p.store = view.stores[0];
  if (view.items.length === 1) p.item = view.items[0];
  return p;
}

export const load = loader(section, async (signal, view) => {
  chart ||= createChart(section.querySelector(".chart"), () => data && render());
  try {
    data = await api.predictions(params(view), { signal });
  } catch (error) {
    if (error.status !== 404) throw error;
    data = null;
    chart.clear();
    accuracyBox.replaceChildren();
    section.querySelector("#forecast-sub").textContent = "";
    const narrowed =
      view.stores.length > 1 || view.items.length > 1
        ? " Forecasts cover the total, one store, one item, or one store and item."
        : "";
    panelState(section, "empty", {
      title: "No forecast yet",
      message: `${error.explained ? `${capitalised(error.message)}.` : "The nightly job fits one, or run manage.py forecast now."}${narrowed}`,
    });
    return;
  }
  if (data.status === "running" || data.status === "none") {
    // No forecast for this series yet: a state of the product (the API answers 200), not an error.
    const pending = data;
    data = null;
    chart.clear();
    accuracyBox.replaceChildren();
    section.querySelector("#forecast-sub").textContent = "";
    const title = pending.status === "running" ? "A refit is running" : "No forecast yet";
    panelState(section, "empty", { title, message: `${capitalised(pending.message)}.` });
    return;
  }
  data.actuals ||= [];
  data.forecast ||= [];
  // A weekly forecast has points dated on each week's last day, no partial "today so far" to pace.
  if (data.frequency === "W") data.today = null;
  describe();
  if (!data.forecast.length) {
    panelState(section, "empty", { title: "Empty forecast", message: "The last run produced no days to show." });
    return;
  }
  panelState(section, "ready");
  render();
});

/** The forecast for `day` when the drawn series is exactly the selection (else null). */
export function pointFor(day, view) {
  if (!data || view.stores.length > 1 || view.items.length > 1) return null;
  return fittedDays().find((f) => f.date === day) ?? null;
}

/** A live batch adds its units for this series to that day's actual. */
export function applyBatch(event) {
  if (!data) return;
  const s = data.series || {};
  const units = batchShare({ stores: s.store ? [s.store] : [], items: s.item ? [s.item] : [] }, event).total;
  if (!units) return;
  const point = fittedDays().find((f) => f.date === event.date);
  const past = data.actuals.find((a) => a.date === event.date);
  if (point) point.actual = (point.actual ?? 0) + units;
  else if (past) past.sales += units;
  else return;
  render();
}

export function init() {
  section.querySelector('[data-act="csv"]').addEventListener("click", () => {
    if (!data) return;
    const rows = [
      ...data.actuals.map((a) => ({ date: a.date, actual: a.sales })),
      ...fittedDays().map((f) => ({ ...f })),
    ];
    downloadCsv(
      "forecast.csv",
      ["date", "actual", "yhat", "mean", "lower_80", "upper_80", "lower_95", "upper_95"],
      rows,
    );
  });
}
