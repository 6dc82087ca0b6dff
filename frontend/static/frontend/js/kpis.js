// KPI cards from /api/sales/metrics; live batches adjust them in place.
import { api } from "./api.js";
import {
  dayFraction,
  fmtBig,
  fmtBigUnits,
  fmtDay,
  fmtDec,
  fmtInt,
  fmtPct,
  fmtUnits,
  trend,
  unitLabel,
  unitWord,
} from "./format.js";
import { loader, panelState } from "./panel.js";
import { bootstrap, inRange } from "./state.js";

const section = document.getElementById("kpis");
const card = (key) => section.querySelector(`[data-kpi="${key}"]`);
let metrics = null; // for the selected range: totals, average, top store and item
let view = null;

function setCard(key, { value, raw = null, note = [], title = "", exact = "" }) {
  const node = card(key);
  const valueNode = node.querySelector(".kpi__value");
  if (typeof value === "string") valueNode.textContent = value;
  else valueNode.replaceChildren(...value);
  valueNode.dataset.value = raw == null ? "" : String(raw);
  // The exact figure on hover, whenever the card shows it rounded (or a name that may be cut off).
  valueNode.title = exact && exact !== valueNode.textContent ? exact : "";
  node.title = title || "";
  const noteNode = node.querySelector(".kpi__note");
  noteNode.replaceChildren(...note);
  if (!title) node.title = noteNode.textContent;
}

function trendSpan(pct) {
  const t = trend(pct);
  const span = document.createElement("span");
  span.className = `trend ${t.cls}`;
  span.textContent = pct == null ? "–" : `${t.arrow} ${fmtPct(pct)}`;
  span.setAttribute("aria-label", pct == null ? "no earlier period to compare" : `${t.word} ${fmtPct(pct)}`);
  return span;
}

/** " · includes generated sample" when the window ending `last` reaches the demo's generated days. */
const generatedNote = (last) =>
  bootstrap.generated_from && last && last >= bootstrap.generated_from ? " · includes generated sample" : "";

/** A KPI window's length as the history counts: "30 days", or a weekly history's "4 weeks". */
const spanText = (window, fallback, adjective = "") => {
  const days = window.days ?? fallback;
  const weeks = metrics.frequency === "W" && days % 7 === 0;
  return weeks ? `${days / 7}${adjective} weeks` : `${days}${adjective} days`;
};

/** The average card: per day, or per week for a weekly history (its best "day" is its best week). */
function averageCard(m) {
  if (m.frequency !== "W") {
    const best = m.best_day ? `Best day ${fmtDay(m.best_day.date)}: ${fmtBigUnits(m.best_day.sales)}` : null;
    return { value: m.average_per_day, note: best ?? `${fmtInt(m.days)} days` };
  }
  const best = m.best_day ? `Best week to ${fmtDay(m.best_day.date)}: ${fmtBigUnits(m.best_day.sales)}` : null;
  return { value: m.average_per_week, note: best ?? `${fmtInt(m.weeks ?? 0)} weeks` };
}

const growth = (current, previous) => (previous ? Math.round(((current - previous) / previous) * 1000) / 10 : null);

function render() {
  const m = metrics;
  if (!m.total_sales) {
    panelState(section, "empty", {
      title: "No sales in this selection",
      message: "Widen the date range or clear the store and item filters.",
    });
  } else {
    panelState(section, "ready");
  }
  // The selected date range, today included; the comparison cards use complete days whatever the range.
  // A unit other than the default is named beside the total (kg, dollars), or the mix of them.
  const unit = unitLabel(m);
  const unitNote = unit ? `${unit} · ` : "";
  setCard("total", {
    value: fmtBigUnits(m.total_sales),
    exact: fmtUnits(m.total_sales),
    raw: m.total_sales,
    note: [
      m.date_from
        ? `${unitNote}Selected range ${fmtDay(m.date_from)} – ${fmtDay(m.date_to)}${generatedNote(m.date_to)}`
        : "no data",
    ],
    title: "All sales in the selected date range, today's so far included",
  });
  const average = averageCard(m);
  setCard("average", {
    value: average.value >= 1e6 ? fmtBig(average.value) : fmtDec(average.value),
    exact: fmtDec(average.value),
    raw: average.value,
    note: [average.note],
  });
  const w30 = metrics.last_30_days;
  const s30 = spanText(w30, 30);
  setCard("last30", {
    value: fmtBigUnits(w30.sales),
    exact: fmtUnits(w30.sales),
    raw: w30.sales,
    note: [trendSpan(w30.growth_pct), ` vs the ${s30} before${generatedNote(metrics.windows_end)}`],
    title: `${spanText(w30, 30, " complete")} to ${fmtDay(metrics.windows_end)}, whatever the selected range; the ${s30} before: ${fmtUnits(w30.previous)}`,
  });
  const yoy = metrics.year_over_year;
  const s365 = spanText(yoy, 365);
  setCard("yoy", {
    value: [trendSpan(yoy.growth_pct)],
    raw: yoy.growth_pct,
    note: [
      `${fmtBigUnits(yoy.sales)} in the ${spanText(yoy, 365, " full")} to ${fmtDay(metrics.windows_end)}${generatedNote(metrics.windows_end)}`,
    ],
    title: `${spanText(yoy, 365, " complete")} to ${fmtDay(metrics.windows_end)}: ${fmtUnits(yoy.sales)}; the ${s365} before: ${fmtUnits(yoy.previous)}. Not the selected range, so it differs from Total sales`,
  });
  const today = metrics.today || {};
  const expected = today.forecast;
  const share = expected ? today.actual / expected : null;
  // Early in the day the total is naturally far below the day's forecast: compare with the pace so far.
  const pace = expected ? expected * dayFraction(new Date()) : null;
  setCard("today", {
    value: fmtBigUnits(today.actual),
    exact: fmtUnits(today.actual),
    raw: today.actual,
    note:
      expected != null
        ? [`of ${fmtBig(expected)} expected · `, trendSpan(growth(today.actual, pace)), " vs pace"]
        : ["No forecast for today yet"],
  });
  card("today").querySelector(".kpi__meter span").style.width = share == null ? "0" : `${Math.min(100, share * 100)}%`;
  for (const [key, list, field] of [
    ["top-store", m.top_stores, "store"],
    ["top-item", m.top_items, "item"],
  ]) {
    const top = list?.[0];
    setCard(key, {
      value: top ? top.name : "–",
      exact: top ? top.name : "",
      raw: top ? top[field] : null,
      note: top ? [`${fmtBigUnits(top.sales)} · ${fmtPct((top.sales / m.total_sales) * 100).replace("+", "")}`] : [],
      title: top
        ? `${top.name}: ${fmtUnits(top.sales)} ${unitWord(m)}, ${fmtPct((top.sales / m.total_sales) * 100).replace("+", "")} of the selection`
        : null,
    });
  }
}

function flash(keys) {
  for (const key of keys) {
    const node = card(key);
    node.classList.remove("is-updated");
    void node.offsetWidth; // restart the animation
    node.classList.add("is-updated");
  }
}

export const load = loader(section, async (signal, nextView) => {
  view = nextView;
  metrics = null;
  // The API reads the 7/30/365-day windows from the history before a date range too: one request serves every card.
  metrics = await api.metrics(view, { signal });
  render();
});

/** A live batch: `share` is the part of it inside the store/item selection (see state.batchShare). */
export function applyBatch(event, share) {
  if (!metrics || !share.total) return;
  const touched = [];
  if (inRange(view, event.date)) {
    metrics.total_sales += share.total;
    if (!metrics.date_to || event.date > metrics.date_to) {
      metrics.days += metrics.date_to ? Math.round((Date.parse(event.date) - Date.parse(metrics.date_to)) / 864e5) : 1;
      metrics.date_from ||= event.date;
      metrics.date_to = event.date;
    }
    metrics.average_per_day = Math.round((metrics.total_sales / metrics.days) * 10) / 10;
    for (const [list, field, per] of [
      [metrics.top_stores, "store", share.byStore],
      [metrics.top_items, "item", share.byItem],
    ]) {
      for (const entry of list || []) entry.sales += per.get(entry[field]) || 0;
      list?.sort((a, b) => b.sales - a.sales || a[field] - b[field]);
    }
    touched.push("total", "average", "top-store", "top-item");
  }
  // The 7/30/365-day windows hold complete days only (they end yesterday at the latest): a live batch is today's.
  if (metrics.today && metrics.today.date === event.date) {
    metrics.today.actual += share.total;
    touched.push("today");
  }
  render();
  flash(touched);
}

/** The server's own running totals (whole business): authoritative when nothing narrows the selection. */
export function applyTotals(event) {
  if (!metrics || view.stores.length || view.items.length) return;
  if (metrics.today?.date === event.date && metrics.today.actual !== event.today_total) {
    metrics.today.actual = event.today_total;
    render();
  }
  if (!view.dateFrom && !view.dateTo && event.total_sales != null && metrics.total_sales !== event.total_sales) {
    metrics.total_sales = event.total_sales;
    metrics.average_per_day = Math.round((metrics.total_sales / metrics.days) * 10) / 10;
    render();
  }
}

export const todayMetrics = () => metrics?.today ?? null;

/** Fill in today's forecast from the forecast panel when the metrics have none for this selection. */
export function fillTodayForecast(point) {
  const today = metrics?.today;
  if (!today || today.forecast != null || !point) return false;
  Object.assign(today, {
    forecast: point.yhat,
    lower_80: point.lower_80,
    upper_80: point.upper_80,
    lower_95: point.lower_95,
    upper_95: point.upper_95,
  });
  render();
  return true;
}
