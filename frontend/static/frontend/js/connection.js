// The one EventSource of the page (/api/stream) and the Live / Reconnecting / Offline / No live updates indicator.
// The browser reconnects by itself and sends Last-Event-ID; when it gives up (an HTTP error closes the
// stream for good) we open a new one with ?last_event_id=, so batches recorded meanwhile are replayed.
// A stream is live once its `metrics` event arrives: one that cannot reach the message broker sends the
// missed batches, then an `error` event with cause "broker_unreachable" instead, and the page says so until
// a reconnect gets its `metrics` again.
import { fmtAge } from "./format.js";

const OFFLINE_AFTER_MS = 30_000;
const box = document.getElementById("connection");
const label = box.querySelector(".conn__label");
const age = box.querySelector(".conn__age");
const LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  unavailable: "No live updates",
};
const BROKER_UNREACHABLE = "broker_unreachable";

let source = null;
let lastEventId = null;
let lastEventAt = null;
let downSince = null;
let openedAt = 0;
let everOpened = false;
let reconnects = 0; // errors after the first successful open
let retryTimer = null;
let retryDelay = 1000;
let handlers = null;
let filterQuery = ""; // store=1,2&item=3: the stream then adds the batch's rows inside the selection
const seen = new Set();

function setStatus(status) {
  if (box.dataset.status !== status) {
    const was = box.dataset.status;
    box.dataset.status = status;
    label.textContent = LABELS[status];
    if (status === "unavailable" || was === "unavailable") handlers?.availability?.(status !== "unavailable");
  }
  tick();
}

function tick() {
  const status = box.dataset.status;
  if (status === "reconnecting" && downSince && Date.now() - downSince > OFFLINE_AFTER_MS) return setStatus("offline");
  if (status === "live")
    age.textContent = lastEventAt ? `last event ${fmtAge((Date.now() - lastEventAt) / 1000)}` : "waiting for events";
  else if (status === "unavailable") age.textContent = "retrying";
  else if (downSince) age.textContent = `down for ${fmtAge((Date.now() - downSince) / 1000).replace(" ago", "")}`;
  else age.textContent = "";
  box.title = lastEventAt ? `Last event at ${new Date(lastEventAt).toLocaleTimeString()}` : "";
}

function open() {
  clearTimeout(retryTimer);
  source?.close();
  const query = [filterQuery, lastEventId ? `last_event_id=${encodeURIComponent(lastEventId)}` : ""]
    .filter(Boolean)
    .join("&");
  const url = query ? `/api/stream?${query}` : "/api/stream";
  source = new EventSource(url);
  source.addEventListener("open", () => {
    openedAt = Date.now();
    everOpened = true;
    retryDelay = 1000;
    // Live from the first event (a healthy stream sends `metrics` at once); not while the broker is away.
  });
  const receive = (type) => (message) => {
    if (message.lastEventId) lastEventId = message.lastEventId;
    lastEventAt = Date.now();
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return; // a malformed event must not stop the stream
    }
    if (type === "sales") {
      if (seen.has(data.id)) return;
      seen.add(data.id);
      if (seen.size > 2000) seen.delete(seen.values().next().value);
      // Replayed after a reconnect: recorded before this connection opened.
      const missed = reconnects > 0 && data.timestamp != null && Date.parse(data.timestamp) < openedAt - 250;
      handlers.sales(data, { missed });
    } else handlers.metrics(data);
    // Replayed batches come from the database even while the broker is away: only `metrics` means live again.
    if (type === "metrics" || box.dataset.status !== "unavailable") {
      downSince = null;
      setStatus("live");
    }
    tick();
  };
  source.addEventListener("sales", receive("sales"));
  source.addEventListener("metrics", receive("metrics"));
  // More was missed than the server replays: it goes on from its newest batch, and the page reloads its figures.
  source.addEventListener("reload", (message) => {
    if (message.lastEventId) lastEventId = message.lastEventId;
    handlers.reload?.();
  });
  source.addEventListener("error", (event) => {
    downSince ||= Date.now();
    if (everOpened) reconnects += 1;
    // The server's own `error` event (a MessageEvent with data) says why it ends the stream.
    let cause = null;
    try {
      cause = event.data ? JSON.parse(event.data).cause : null;
    } catch {
      cause = null;
    }
    if (cause === BROKER_UNREACHABLE || (box.dataset.status === "unavailable" && !cause)) {
      // The broker is away (or this is the end of that stream): the browser retries by itself.
      if (source.readyState === EventSource.CLOSED) {
        retryTimer = setTimeout(open, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30_000);
      }
      return setStatus("unavailable");
    }
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (HTTP error or wrong content type): try again ourselves, backing off to 30 s.
      retryTimer = setTimeout(open, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30_000);
    }
    setStatus(
      navigator.onLine === false
        ? "offline"
        : everOpened || Date.now() - downSince < OFFLINE_AFTER_MS
          ? "reconnecting"
          : "offline",
    );
  });
}

const queryOf = ({ stores, items }) =>
  [stores.length ? `store=${stores.join(",")}` : "", items.length ? `item=${items.join(",")}` : ""]
    .filter(Boolean)
    .join("&");

/** Start the stream; handlers: {sales(event, {missed}), metrics(event), availability(live updates possible?), reload()}. `known`: ids already shown; `view`: its stores and items. */
export function connect(nextHandlers, known = [], view = { stores: [], items: [] }) {
  handlers = nextHandlers;
  filterQuery = queryOf(view);
  for (const id of known) seen.add(id);
  open();
  setInterval(tick, 1000);
  window.addEventListener("offline", () => setStatus("offline"));
  window.addEventListener("online", () => {
    if (source?.readyState !== EventSource.OPEN) open();
  });
}

/** Reopen the stream for another store/item selection (resuming after the last event seen). */
export function setStreamFilters(view) {
  const next = queryOf(view);
  if (next === filterQuery) return;
  filterQuery = next;
  if (handlers) open();
}
