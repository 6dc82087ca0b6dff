// The alerts page: firing alerts, rules with their history chart, the rule editor with its 30-day preview,
// contact points (with "send test") and silences. Editors get the editor; the API refuses writes to others.
import { ApiError, getJSON } from "./api.js";
import { axis, baseOption, createChart, intervalBand, tokens } from "./chart.js";
import { el, fmtInt } from "./format.js";

const REFRESH_MS = 5000;
const STATES = ["Normal", "Pending", "Alerting", "NoData", "Error"];
const bootstrap = JSON.parse(document.getElementById("dashboard-bootstrap").textContent);
const when = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: bootstrap.time_zone,
});

const csrf = () => document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";

async function send(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, answer.error || `The server answered ${response.status}.`);
  return answer;
}

const NODE_LEVELS = ["region", "category", "department"];
const series = (store, item, node = null, level = "") =>
  [
    store != null ? `store ${store}` : null,
    item != null ? `item ${item}` : null,
    node != null ? `${level || "node"} ${node}` : null,
  ]
    .filter(Boolean)
    .join(" ") || "total";
const levelOf = (ruleId) => rulesCache.find((r) => r.id === ruleId)?.level ?? "";
const at = (iso) => (iso ? when.format(new Date(iso)) : "–");

function rows(tbody, items, render) {
  tbody.replaceChildren(...items.map((item) => el("tr", {}, ...render(item).map((cell) => el("td", {}, cell)))));
}

// ------------------------------------------------------------ firing alerts

async function firingLoad() {
  const section = document.getElementById("firing");
  const { results, count } = await getJSON("/api/alerts/states", { firing: "true", page_size: 100 });
  rows(section.querySelector("tbody"), results, (s) => [
    s.rule_name,
    series(s.store, s.item, s.node, levelOf(s.rule)),
    el("span", { className: `alert-state alert-state--${s.state}`, textContent: s.state }),
    at(s.since),
    el(
      "span",
      {},
      s.last_change?.message ?? "",
      s.silenced_by ? el("span", { className: "tag", textContent: " silenced" }) : null,
    ),
  ]);
  section.querySelector(".empty").hidden = count > 0;
  document.getElementById("firing-sub").textContent = count ? `${fmtInt(count)} series` : "";
}

// ------------------------------------------------------------ rules and their history

let rulesCache = [];
let selectedRule = null;
const historyChart = createChart(document.querySelector(".chart--history"), () => historyDraw());
let historyData = [];

function watches(rule) {
  const names = { total: "the total", store: "store", item: "item", store_item: "store-item" };
  if (rule.level === "total") return names.total;
  if (NODE_LEVELS.includes(rule.level))
    return rule[rule.level] ? `${rule.level} ${rule[rule.level]}` : `every ${rule.level}`;
  if (rule.per_series)
    return `every ${names[rule.level]}${rule.store ? ` of store ${rule.store}` : ""}${rule.item ? ` of item ${rule.item}` : ""}`;
  return series(rule.store, rule.item);
}

function condition(rule) {
  switch (rule.condition) {
    case "forecast_interval":
      return `${rule.direction} the forecast's ${rule.interval} % interval`;
    case "forecast_percent":
      return `${rule.percent} % ${rule.direction === "below" ? "under" : "over"} the paced forecast`;
    case "threshold":
      return `${rule.direction} ${fmtInt(rule.threshold)} units`;
    default:
      return `no data for ${rule.no_data_intervals} intervals`;
  }
}

async function rulesLoad() {
  const [{ results }, firing] = await Promise.all([
    getJSON("/api/alerts/rules", { page_size: 500 }),
    getJSON("/api/alerts/states", { firing: "true", page_size: 500 }),
  ]);
  rulesCache = results;
  const firingBy = {};
  for (const s of firing.results) firingBy[s.rule] = (firingBy[s.rule] ?? 0) + 1;
  const tbody = document.querySelector("#rules tbody");
  tbody.replaceChildren(
    ...results.map((rule) => {
      const button = el("button", { type: "button", className: "linklike", textContent: rule.name });
      button.addEventListener("click", () => historyLoad(rule));
      const row = el("tr", { className: rule.id === selectedRule?.id ? "is-selected" : "" });
      row.append(
        el("td", {}, button),
        el("td", {}, watches(rule)),
        el("td", {}, condition(rule)),
        el("td", {}, String(firingBy[rule.id] ?? 0)),
      );
      return row;
    }),
  );
  if (!selectedRule && results.length) historyLoad(results[0]);
}

async function historyLoad(rule) {
  selectedRule = rule;
  const { results } = await getJSON("/api/alerts/history", { rule: rule.id, page_size: 500 });
  historyData = results.slice().reverse();
  document.getElementById("rule-history-sub").textContent = historyData.length
    ? `${rule.name}: ${historyData.length} state changes; the dots are sales so far at each change, the line what was expected.`
    : `${rule.name}: no state change yet.`;
  historyDraw();
}

function historyDraw() {
  const t = tokens();
  const colour = { Normal: t.up, Pending: t.warn, Alerting: t.down, NoData: t.down, Error: t.muted };
  const option = baseOption(t);
  historyChart.setOption(
    {
      ...option,
      tooltip: { ...option.tooltip, trigger: "item", formatter: (p) => p.data?.message ?? "" },
      grid: { ...option.grid, right: 48 },
      xAxis: axis(t, { type: "time" }),
      yAxis: [
        axis(t, { type: "category", data: STATES }),
        axis(t, { type: "value", name: "units", position: "right" }),
      ],
      series: [
        {
          name: "state",
          type: "line",
          step: "end",
          symbolSize: 8,
          data: historyData.map((c) => ({
            value: [c.at, c.to_state],
            message: c.message,
            itemStyle: { color: colour[c.to_state] },
          })),
        },
        {
          name: "sales so far",
          type: "scatter",
          yAxisIndex: 1,
          data: historyData
            .filter((c) => c.actual != null)
            .map((c) => ({ value: [c.at, c.actual], message: c.message })),
        },
        {
          name: "expected",
          type: "line",
          yAxisIndex: 1,
          data: historyData
            .filter((c) => c.expected != null)
            .map((c) => ({ value: [c.at, c.expected], message: c.message })),
        },
      ],
    },
    true,
  );
}

// ------------------------------------------------------------ the editor and its preview

const form = document.getElementById("rule-form");
const previewChart = form ? createChart(form.querySelector(".chart--preview"), () => previewDraw()) : null;
let preview = null;
let previewTimer = null;

function ruleFromForm() {
  const data = new FormData(form);
  const number = (name) => (data.get(name) === "" ? null : Number(data.get(name)));
  // Stores and items by code, as the API takes them; empty: every one.
  const code = (name) => String(data.get(name) ?? "").trim() || null;
  const level = data.get("level");
  return {
    name: data.get("name"),
    level,
    store: ["store", "store_item"].includes(level) ? code("store") : null,
    item: ["item", "store_item"].includes(level) ? code("item") : null,
    // A region, category or department by code, under its own level's name.
    ...Object.fromEntries(NODE_LEVELS.map((name) => [name, level === name ? code("node") : null])),
    condition: data.get("condition"),
    direction: data.get("direction"),
    percent: number("percent"),
    interval: number("interval"),
    threshold: number("threshold"),
    no_data_intervals: number("no_data_intervals"),
    pending_seconds: (number("pending_minutes") ?? 0) * 60,
    repeat_seconds: (number("repeat_minutes") ?? 0) * 60,
    contact_points: data.getAll("contact_points").map(Number),
  };
}

function fieldsShow() {
  const chosen = form.elements.condition.value;
  for (const label of form.querySelectorAll("[data-for]")) label.hidden = label.dataset.for !== chosen;
  const node = NODE_LEVELS.includes(form.elements.level.value);
  form.querySelector("[data-level=node]").hidden = !node;
  document.getElementById("node-note").hidden = !node;
}

async function previewLoad() {
  const status = document.getElementById("preview-sub");
  try {
    preview = await send("POST", "/api/alerts/rules/preview", ruleFromForm());
    status.textContent = `Would have fired at ${fmtInt(preview.fired)} of ${fmtInt(preview.points.length)} moments in ${preview.days} days. Pace: ${preview.curve}. ${preview.notes.join("; ")}.`;
    form.dataset.preview = "ready";
  } catch (error) {
    preview = null;
    status.textContent = `No preview: ${error.message}`;
    form.dataset.preview = "error";
  }
  previewDraw();
}

function previewDraw() {
  if (!previewChart) return;
  const t = tokens();
  const points = preview?.points ?? [];
  const firing = points.filter((p) => p.firing);
  const base = baseOption(t);
  const chartSeries = preview?.per_series
    ? [
        { name: "series firing", type: "bar", data: points.map((p) => [p.at, p.firing]), color: t.down },
        { name: "series judged", type: "line", data: points.map((p) => [p.at, p.series]), color: t.muted },
      ]
    : [
        ...intervalBand({
          name: "bounds",
          lower: points.map((p) => [p.at, p.lower]),
          width: points.map((p) => [p.at, p.upper != null && p.lower != null ? p.upper - p.lower : null]),
          color: t.band80,
        }),
        { name: "expected", type: "line", symbol: "none", data: points.map((p) => [p.at, p.expected]), color: t.muted },
        {
          name: "sales so far",
          type: "line",
          symbol: "none",
          data: points.map((p) => [p.at, p.actual]),
          color: t.accent,
        },
        {
          name: "would fire",
          type: "scatter",
          symbolSize: 7,
          data: firing.map((p) => [p.at, p.actual]),
          color: t.down,
        },
      ];
  previewChart.setOption(
    { ...base, xAxis: axis(t, { type: "time" }), yAxis: axis(t, { type: "value" }), series: chartSeries },
    true,
  );
}

function editorStart(points) {
  if (!form) return;
  document
    .getElementById("rule-points")
    .replaceChildren(
      ...points.map((p) =>
        el(
          "label",
          { className: "check" },
          el("input", { type: "checkbox", name: "contact_points", value: p.id }),
          ` ${p.name}`,
        ),
      ),
    );
  fieldsShow();
  form.addEventListener("input", () => {
    fieldsShow();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(previewLoad, 400);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = form.querySelector(".ruleform__status");
    try {
      const rule = await send("POST", "/api/alerts/rules", ruleFromForm());
      status.textContent = `Saved "${rule.name}".`;
      selectedRule = rule;
      await rulesLoad();
      historyLoad(rule);
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
    }
  });
  previewLoad();
}

// ------------------------------------------------------------ contact points and silences

async function pointsLoad() {
  const { results } = await getJSON("/api/alerts/contact-points", { page_size: 500 });
  rows(document.querySelector("#points tbody"), results, (p) => {
    const health = p.failing
      ? el("span", { className: "alert-state alert-state--Alerting", textContent: `failing: ${p.last_error}` })
      : p.last_success_at
        ? `ok, last sent ${at(p.last_success_at)}`
        : "not used yet";
    const test = bootstrap.can_edit
      ? el("button", { type: "button", className: "btn btn--ghost", textContent: "Send test" })
      : "";
    if (test) {
      test.addEventListener("click", async () => {
        test.disabled = true;
        try {
          const outcome = await send("POST", `/api/alerts/contact-points/${p.id}/test`);
          test.textContent = outcome.status === "sent" ? "Sent" : `Failed: ${outcome.error}`;
        } catch (error) {
          test.textContent = error.message;
        }
        pointsLoad();
      });
    }
    return [p.name, p.kind, health, test];
  });
  return results;
}

async function silencesLoad() {
  const { results } = await getJSON("/api/alerts/silences", { page_size: 100 });
  const active = results.filter((s) => s.active);
  const ruleName = (id) => rulesCache.find((r) => r.id === id)?.name ?? `rule ${id}`;
  rows(document.querySelector("#silences tbody"), active, (s) => [
    [s.rule ? ruleName(s.rule) : null, s.store || s.item ? series(s.store, s.item) : null].filter(Boolean).join(", ") ||
      "everything",
    at(s.ends_at),
    s.comment,
  ]);
  document.querySelector("#silences .empty").hidden = active.length > 0;
}

async function refresh() {
  try {
    await Promise.all([firingLoad(), rulesLoad(), silencesLoad()]);
    if (selectedRule) await historyLoad(selectedRule);
    document.body.dataset.loaded = "true";
  } catch (error) {
    document.getElementById("firing-sub").textContent = `Cannot refresh: ${error.message}`;
  }
}

const points = await pointsLoad().catch(() => []);
editorStart(points);
await refresh();
setInterval(refresh, REFRESH_MS);
