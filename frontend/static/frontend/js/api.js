// The JSON API (see notes/API_CONTRACT.md). Every call can be aborted; errors carry the HTTP status and the API's message.
import { rememberNames } from "./state.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value == null || value === "" || (Array.isArray(value) && value.length === 0)) continue;
    search.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export async function getJSON(path, params = {}, { signal } = {}) {
  let response;
  try {
    response = await fetch(path + query(params), { headers: { Accept: "application/json" }, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The server cannot be reached.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // An HTML error page or an empty body: fall through with the status alone.
  }
  if (!response.ok) {
    const message = body?.error || body?.detail;
    const error = new ApiError(
      response.status,
      message || (response.status === 404 ? "Not available yet." : `The server answered ${response.status}.`),
    );
    error.explained = Boolean(message); // the API said why, in words meant for people
    throw error;
  }
  return body;
}

/** Every page of a paged read (the API's `next` links), their `results` joined into the first page's body. */
export async function getAllPages(path, params = {}, { signal } = {}) {
  const first = await getJSON(path, params, { signal });
  const results = [...first.results];
  for (let page = first; page.next; ) {
    page = await getJSON(page.next, {}, { signal });
    results.push(...page.results);
  }
  return { ...first, next: null, results };
}

/** The filter parameters shared by the sales endpoints, from the resolved dashboard state. */
export function salesParams(view) {
  return {
    store: view.stores,
    item: view.items,
    region: view.regions,
    category: view.categories,
    department: view.departments,
    date_from: view.dateFrom,
    date_to: view.dateTo,
  };
}

/** Answers that name stores or items (by code) teach the page their names: it holds no catalogue of its own. */
async function metrics(view, opts) {
  const body = await getJSON("/api/sales/metrics", salesParams(view), opts);
  rememberNames("store", body.top_stores, "store");
  rememberNames("item", body.top_items, "item");
  return body;
}

async function breakdown(view, extra, opts) {
  const body = await getJSON("/api/sales/breakdown", { ...salesParams(view), ...extra }, opts);
  rememberNames(body.by, body.rows, "id");
  return body;
}

export const api = {
  metrics,
  aggregated: (view, extra, opts) => getAllPages("/api/sales/aggregated", { ...salesParams(view), ...extra }, opts),
  breakdown,
  predictions: (params, opts) => getJSON("/api/sales/predictions", params, opts),
};
