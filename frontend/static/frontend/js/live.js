// Live: today's cumulative sales against the expected curve, and a bounded feed of the latest batches.
import { axis, baseOption, createChart, intervalBand, tokens } from "./chart.js";
import { dayFraction, downloadCsv, el, fmtInt, fmtTime, fmtUnits } from "./format.js";
import { panelState } from "./panel.js";
import { batchShare, bootstrap, itemName, storeName } from "./state.js";

const FEED_LIMIT = 50;
const section = document.getElementById("live");
const feed = section.querySelector(".feed");
let chart = null;
let today = null; // {date, actual, forecast, lower_80, upper_80, lower_95, upper_95} for the selection
let points = []; // [[hour of the server's day, cumulative units]]
const batches = []; // newest first, for the CSV
let lastBatchAt = null;
const openedAt = new Date();
let view = null;

const hour = (date) => dayFraction(date) * 24;
const hh = (h) => `${String(Math.floor(h)).padStart(2, "0")}:${String(Math.round((h % 1) * 60)).padStart(2, "0")}`;

function render() {
  const t = tokens();
  const base = baseOption(t);
  const line = (key) =>
    today?.[key] == null
      ? []
      : [
          [0, 0],
          [24, today[key]],
        ];
  const band = (name, lower, upper, color) =>
    intervalBand({
      name,
      color,
      tooltip: false,
      lower: line(lower),
      width:
        today?.[lower] == null
          ? []
          : [
              [0, 0],
              [24, today[upper] - today[lower]],
            ],
    });
  chart.setOption(
    {
      ...base,
      legend: { ...base.legend, data: ["Actual", "Expected"] },
      grid: { ...base.grid, top: 30, bottom: 4 },
      tooltip: { ...base.tooltip, valueFormatter: fmtUnits, axisPointer: { type: "line" } },
      xAxis: axis(t, {
        type: "value",
        min: 0,
        max: 24,
        interval: 6,
        axisLabel: { ...base.xAxis.axisLabel, alignMinLabel: "left", alignMaxLabel: "right", formatter: (h) => hh(h) },
      }),
      yAxis: axis(t, {
        type: "value",
        minInterval: 1,
        axisLabel: { ...base.yAxis.axisLabel, formatter: (v) => fmtUnits(v) },
      }),
      series: [
        ...band("95 %", "lower_95", "upper_95", t.band95),
        ...band("80 %", "lower_80", "upper_80", t.band80),
        {
          name: "Expected",
          type: "line",
          data: line("forecast"),
          symbol: "none",
          color: t.accent,
          lineStyle: { type: "dashed", width: 1.5 },
        },
        {
          name: "Actual",
          type: "line",
          data: points,
          color: t.series[1],
          symbol: "circle",
          symbolSize: 5,
          showSymbol: points.length < 3,
          lineStyle: { width: 2.5 },
          z: 5,
          endLabel: { show: true, formatter: ({ value }) => fmtUnits(value[1]), color: t.text },
        },
      ],
    },
    { notMerge: true },
  );
}

function subtitle() {
  const sub = section.querySelector("#live-sub");
  if (!today) {
    sub.textContent = "";
    return;
  }
  const expected = today.forecast != null ? ` of ${fmtInt(today.forecast)} expected` : " · no forecast for today yet";
  sub.textContent = `${fmtUnits(today.actual)} sold today${expected}`;
}

/** The selection's today figures from the metrics (called after every KPI load). */
export function setToday(nextToday, nextView) {
  view = nextView;
  chart ||= createChart(section.querySelector(".chart"), () => today && render());
  if (!nextToday) {
    panelState(section, "error", { title: "No figures for today", message: "The metrics could not be loaded." });
    return;
  }
  today = { ...nextToday };
  // Before this page opened: the server's running total from the event log (whole business only).
  const earlier =
    !view.stores.length && !view.items.length && today.date === bootstrap.today ? bootstrap.today_curve || [] : [];
  const now = hour(new Date());
  // Without the log (a narrowed selection) nothing is drawn before now: a straight line from midnight would be a guess.
  points = earlier.length ? [[0, 0], ...earlier.filter(([h]) => h < now), [now, today.actual]] : [[now, today.actual]];
  panelState(section, "ready");
  subtitle();
  render();
}

export function setError(error) {
  chart ||= createChart(section.querySelector(".chart"), () => today && render());
  panelState(section, "error", { title: "No figures for today", message: error.message });
}

/** Is `units` outside the 95 % interval for a batch covering `seconds` of the day? The daily interval is scaled to that
 *  share of the day, widened by Poisson noise (3 sd) because one short batch is far noisier than a whole day. */
function unusual(units, seconds, { judgeLow = true } = {}) {
  if (today?.forecast == null || today.lower_95 == null) return null;
  const share = Math.min(1, seconds / 86400);
  const slack = 3 * Math.sqrt(Math.max(1, today.forecast * share));
  const low = today.lower_95 * share - slack;
  const high = today.upper_95 * share + slack;
  if (judgeLow && units < low) return "below";
  if (units > high) return "above";
  return null;
}

// Say where a batch came from: the demo's generator draws sales from the history's profile; only ingested ones are reported.
const KIND_LABELS = { generated: "Generated sample", "catch-up": "Catch-up · generated sample", ingested: "Ingested" };

/** "17 rows · 8 stores · 15 items" from the event's per-store and per-item summaries. */
function describeBatch(event) {
  const stores = (event.stores || []).map(([id]) => id);
  const items = (event.items || []).map(([id]) => id);
  const rows = event.row_count ?? 0;
  const name = (list, fn, word) => (list.length === 1 ? fn(list[0]) : `${list.length} ${word}`);
  return `${rows} row${rows === 1 ? "" : "s"} · ${name(stores, storeName, "stores")} · ${name(items, itemName, "items")}`;
}

/** A catch-up batch holds the sales of every interval missed since the last batch (or since midnight): drawn at
 *  its own time alone it would read as a day's sales landing at once. The curve ramps to it from where the missed
 *  span starts instead, dropping what it drew in between (the page's opening point, made before the catch-up). */
function rampFrom(since, at) {
  // A last batch later in the (server's) day than this one was yesterday's: the span starts at midnight.
  const start = since && hour(since) < hour(at) ? hour(since) : 0;
  const before = points.filter(([h]) => h <= start);
  const level = before.length ? before[before.length - 1][1] : 0;
  points = [...before, ...(before.some(([h]) => h === start) ? [] : [[start, level]])].concat(
    points.filter(([h]) => h >= hour(at)),
  );
}

/** A live batch: `share` is the part inside the selection; `missed` marks batches replayed after a reconnect. */
export function onBatch(event, share, { missed = false } = {}) {
  if (!event.total) return; // an empty batch only marks its interval as done: nothing to show
  const at = event.timestamp ? new Date(event.timestamp) : new Date();
  // The first batch seen has no known predecessor: give it the longest plausible span, and only call it unusually big.
  const seconds = lastBatchAt
    ? Math.max(1, (at - lastBatchAt) / 1000)
    : Math.max(bootstrap.stream_interval_seconds, (at - openedAt) / 1000);
  const narrowed = view && (view.stores.length || view.items.length);
  const flag = share.total || !narrowed ? unusual(share.total, seconds, { judgeLow: lastBatchAt != null }) : null;
  const previousBatchAt = lastBatchAt;
  lastBatchAt = at > (lastBatchAt || 0) ? at : lastBatchAt;
  if (today && event.date > today.date)
    Object.assign(today, {
      date: event.date,
      actual: 0,
      forecast: null,
      lower_80: null,
      upper_80: null,
      lower_95: null,
      upper_95: null,
    });
  if (today && event.date === today.date && share.total) {
    if (event.kind === "catch-up") rampFrom(previousBatchAt, at);
    today.actual += share.total;
    points.push([hour(at), today.actual]);
    points.sort((a, b) => a[0] - b[0]);
  }
  batchRemember(event, share, { flag, missed });

  addFeedItem(event, share, { flag, missed, at, narrowed });
  subtitle();
  if (today) render();
}

// The feed's CSV: one record per batch shown, newest first.
const BATCH_COLUMNS = ["id", "timestamp", "date", "source", "total", "in_selection", "rows", "unusual", "missed"];

/** Keep a batch's record for the CSV (the last FEED_LIMIT, as the feed shows). */
function batchRemember(event, share, { flag = null, missed = false } = {}) {
  batches.unshift({
    id: event.id,
    timestamp: event.timestamp,
    date: event.date,
    source: event.source,
    total: event.total,
    in_selection: share.total,
    rows: event.row_count ?? 0,
    unusual: flag || "",
    missed,
  });
  batches.length = Math.min(batches.length, FEED_LIMIT);
}

function addFeedItem(event, share, { flag = null, missed = false, earlier = false, at, narrowed }) {
  const tags = [];
  if (earlier)
    tags.push(
      el("span", { className: "tag tag--missed", textContent: "earlier", title: "recorded before this page opened" }),
    );
  if (flag)
    tags.push(
      el("span", {
        className: "tag tag--unusual",
        textContent: `unusual (${flag} forecast)`,
        title: "outside the 95 % forecast interval for this share of the day",
      }),
    );
  if (missed)
    tags.push(
      el("span", {
        className: "tag tag--missed",
        textContent: "missed",
        title: "recorded while this page was disconnected",
      }),
    );
  const total = narrowed ? `${fmtUnits(share.total)} of ${fmtUnits(event.total)}` : `+${fmtUnits(event.total)}`;
  const item = el(
    "li",
    { className: `${earlier ? "" : "is-new"}${flag ? " is-unusual" : ""}` },
    el("time", { dateTime: event.timestamp || "", textContent: fmtTime(at) }),
    el("span", {
      className: "feed__what",
      textContent: `${KIND_LABELS[event.kind] || "Batch"} · ${describeBatch(event)}`,
      title: describeBatch(event),
    }),
    el("span", { className: "feed__total", textContent: total }),
    tags.length ? el("span", { className: "feed__tags" }, ...tags) : null,
  );
  item.dataset.eventId = event.id;
  item.addEventListener("animationend", () => item.classList.remove("is-new"), { once: true });
  feed.prepend(item);
  while (feed.children.length > FEED_LIMIT) feed.lastElementChild.remove();
}

/** Today's last few batches from before the page opened (oldest first): context for the feed only,
 *  already counted in every figure. */
export function prefill(events, currentView) {
  const narrowed = currentView.stores.length || currentView.items.length;
  for (const event of events.filter((e) => e.total)) {
    const share = batchShare(currentView, event);
    batchRemember(event, share);
    addFeedItem(event, share, { earlier: true, at: new Date(event.timestamp), narrowed });
    lastBatchAt = new Date(event.timestamp); // the next live batch covers the time since this one
  }
}

/** The server's running total for today (whole business): exact when nothing narrows the selection. */
export function onTotals(event) {
  if (!today || !view || view.stores.length || view.items.length || event.date !== today.date) return;
  if (event.today_total !== today.actual) {
    today.actual = event.today_total;
    if (points.length) points[points.length - 1][1] = today.actual;
    subtitle();
    render();
  }
}

/** Whether live updates can arrive: false while the server cannot reach its message broker (Redis). The figures
 *  on the page come from the database and stay right as of when they were loaded; only new batches wait. */
export function setAvailability(available) {
  const notice = section.querySelector(".live__notice");
  notice.hidden = available;
  notice.textContent = available
    ? ""
    : "Live updates unavailable: the server cannot reach its message broker (Redis), so new sales are not shown " +
      "as they happen. The figures on this page are from the database as of when it loaded. Retrying…";
}

export function init() {
  section
    .querySelector('[data-act="csv"]')
    .addEventListener("click", () => downloadCsv("live-batches.csv", BATCH_COLUMNS, batches));
}
