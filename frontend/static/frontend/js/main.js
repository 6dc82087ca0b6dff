// The dashboard: wires the filter state to the panels and the live stream to in-place updates.
import * as breakdown from "./breakdown.js";
import { connect, setStreamFilters } from "./connection.js";
import * as filters from "./filters.js";
import * as forecast from "./forecast.js";
import { fmtDay } from "./format.js";
import * as history from "./history.js";
import * as kpis from "./kpis.js";
import * as live from "./live.js";
import { batchShare, bootstrap, getState, LEVELS, onStateChange, resolve } from "./state.js";

async function loadKpis(view) {
  await kpis.load(view);
  const today = kpis.todayMetrics();
  if (today) live.setToday(today, view);
  else live.setError({ message: "The key figures could not be loaded, so today's expected curve is unknown." });
}

/** Reload what depends on the changed filters; returns when every affected panel has settled. */
function reload(changed) {
  const view = resolve();
  const jobs = [];
  const data = ["range", "from", "to", "store", "item", ...LEVELS].some((k) => changed.has(k));
  if (data) jobs.push(loadKpis(view), breakdown.load(view));
  if (data || changed.has("g") || changed.has("compare")) jobs.push(history.load(view));
  if (changed.has("store") || changed.has("item")) jobs.push(forecast.load(view));
  if (changed.has("breakdown") && !data) jobs.push(breakdown.showView());
  return Promise.allSettled(jobs).then((results) => {
    // The metrics carry today's forecast once forecasting feeds them; until then (or when they have
    // none for this selection) the forecast panel's point for today gives the expected curve.
    if (kpis.fillTodayForecast(forecast.pointFor(bootstrap.today, view))) live.setToday(kpis.todayMetrics(), view);
    return results;
  });
}

function onSales(event, meta) {
  const view = resolve();
  const share = batchShare(view, event);
  kpis.applyBatch(event, share);
  history.applyBatch(event, share);
  forecast.applyBatch(event);
  breakdown.applyBatch(event, share);
  live.onBatch(event, share, meta);
}

function onMetrics(event) {
  kpis.applyTotals(event);
  live.onTotals(event);
}

async function start() {
  const generated = bootstrap.generated_from ? ` · generated sample from ${fmtDay(bootstrap.generated_from)}` : "";
  document.getElementById("footer-span").textContent = bootstrap.date_from
    ? `${fmtDay(bootstrap.date_from)} – ${fmtDay(bootstrap.date_to)}${generated}`
    : "not loaded yet";
  filters.init();
  history.init();
  forecast.init();
  breakdown.init();
  live.init();
  onStateChange((state, changed) => {
    filters.syncControls(state);
    // The stream sends rows only for the stores/items it was opened with: reopen it (it resumes after the last id).
    if (changed.has("store") || changed.has("item")) setStreamFilters(resolve());
    reload(changed);
  });
  const recent = bootstrap.recent_batches || [];
  const everything = new Set(Object.keys(getState()));
  everything.delete("breakdown");
  live.prefill(recent, resolve());
  connect(
    { sales: onSales, metrics: onMetrics, availability: live.setAvailability, reload: () => reload(everything) },
    recent.map((e) => e.id),
    resolve(),
  );
  // A load finished on the upload page (in another tab of this browser): every panel reads the new history.
  new BroadcastChannel("sales-history").addEventListener("message", () => reload(everything));
  await reload(everything);
  // Tests and bench/page.py wait for this: every panel has data, an empty state or an error state.
  requestAnimationFrame(() => {
    document.documentElement.dataset.ready = "true";
    performance.mark("dashboard-ready");
  });
}

start();
