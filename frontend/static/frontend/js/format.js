// Number, date and CSV helpers. Numbers use the reader's locale (Intl); dates are ISO strings (YYYY-MM-DD).

const pageBootstrap = JSON.parse(document.getElementById("dashboard-bootstrap").textContent);
const zone = pageBootstrap.time_zone || "UTC";
const defaultUnit = pageBootstrap.default_unit || "units";
const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const percent = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, signDisplay: "exceptZero" });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  timeZone: "UTC",
});
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// Chart tooltips are HTML; store and item names are staff-edited text and must stay text.
const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

export const fmtInt = (n) => (n == null || Number.isNaN(n) ? "–" : integer.format(n));
export const fmtDec = (n) => (n == null || Number.isNaN(n) ? "–" : decimal.format(n));
const tenths = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
/** Accuracy figures (SMAPE, coverage) always to one decimal: "1.0", not "1", beside "12.3". */
export const fmtTenths = (n) => (n == null || Number.isNaN(n) ? "–" : tenths.format(n));
export const fmtCompact = (n) => (n == null ? "–" : compact.format(n));
/** Numbers of a million and more in compact form ("539.7 M"), so a card never cuts them off; smaller ones in full.
 *  Show the exact figure (fmtInt) on hover wherever this is used. */
export const fmtBig = (n) =>
  n == null || Number.isNaN(n)
    ? "–"
    : Math.abs(n) < 1e6
      ? fmtInt(n)
      : compact.format(n).replace(/(\d)([^\d\s.,]+)$/, "$1\u202f$2");
// Units: whole ones exactly as fmtInt shows them (12), fractional ones (kilograms, dollars) to at most the
// history's three decimals (2.474, 7.5).
const units3 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
export const fmtUnits = (n) => (n == null || Number.isNaN(n) ? "–" : units3.format(n));
/** fmtBig for units: below a million with their decimals (fmtUnits), compact above. */
export const fmtBigUnits = (n) => (n == null || Number.isNaN(n) || Math.abs(n) >= 1e6 ? fmtBig(n) : fmtUnits(n));
/** What an answer's figures are in (its `unit` and `units`), for a label: "" for the default unit (the page
 *  reads as it always did), "kg", or "mixed units (kg, units)" when the selection adds up different units. */
export function unitLabel(answer) {
  if (!answer) return "";
  if (answer.unit == null) return answer.units?.length > 1 ? `mixed units (${answer.units.join(", ")})` : "";
  return answer.unit === defaultUnit ? "" : answer.unit;
}
/** The unit's name in a sentence: "units" unless the answer says otherwise. */
export const unitWord = (answer) => unitLabel(answer) || defaultUnit;
export const fmtPct = (p) => (p == null ? "–" : `${percent.format(p)}\u00a0%`); // never wrap before the sign
export const fmtDay = (iso) => (iso ? dayFormat.format(new Date(`${iso}T00:00:00Z`)) : "–");
export const fmtTime = (date) => timeFormat.format(date);

/** How much of the server's day (its TIME_ZONE, where "today" is decided) has passed at `date`, 0..1. */
export function dayFraction(date, timeZone = zone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone,
      hourCycle: "h23",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    })
      .formatToParts(date)
      .map((p) => [p.type, Number(p.value)]),
  );
  return Math.min(1, Math.max(1 / 1440, (parts.hour * 3600 + parts.minute * 60 + parts.second) / 86400));
}

export function fmtAge(seconds) {
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

/** An arrow and a class for a growth figure: up is good (green), down is bad (red). */
export function trend(pct) {
  if (pct == null) return { arrow: "", cls: "trend--flat", word: "no comparison" };
  if (pct > 0) return { arrow: "▲", cls: "trend--up", word: "up" };
  if (pct < 0) return { arrow: "▼", cls: "trend--down", word: "down" };
  return { arrow: "■", cls: "trend--flat", word: "flat" };
}

// ---------------------------------------------------------------- dates (UTC arithmetic on ISO days)
const toDate = (iso) => new Date(`${iso}T00:00:00Z`);
const toIso = (d) => d.toISOString().slice(0, 10);

export function addDays(iso, days) {
  const d = toDate(iso);
  d.setUTCDate(d.getUTCDate() + days);
  return toIso(d);
}

/** The period an ISO day belongs to, as the API labels it: the day, the Monday of its ISO week, or the 1st of its month. */
export function periodOf(iso, granularity) {
  if (granularity === "month") return `${iso.slice(0, 7)}-01`;
  if (granularity === "week") {
    const weekday = (toDate(iso).getUTCDay() + 6) % 7; // Monday = 0
    return addDays(iso, -weekday);
  }
  return iso;
}

/** The last day of the period that starts on `period`. */
export function periodEnd(period, granularity) {
  if (granularity === "week") return addDays(period, 6);
  if (granularity === "month") {
    const d = toDate(period);
    return toIso(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)));
  }
  return period;
}

/** Every period from `first` to `last` (both period starts), so days without data show as gaps, not as neighbours. */
export function periodsBetween(first, last, granularity) {
  const out = [];
  for (let p = first; p <= last && out.length < 20000; ) {
    out.push(p);
    p = periodOf(addDays(periodEnd(p, granularity), 1), granularity);
  }
  return out;
}

// ---------------------------------------------------------------- CSV
// Text a spreadsheet would run as a formula gets a leading apostrophe (numbers, negative ones included, stay numbers).
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value) {
  let text = value == null ? "" : String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns, rows) {
  const lines = [columns.map(csvCell).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

export function downloadCsv(filename, columns, rows) {
  const url = URL.createObjectURL(new Blob([toCsv(columns, rows)], { type: "text/csv;charset=utf-8" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}
