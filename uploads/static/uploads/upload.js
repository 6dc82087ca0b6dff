// The upload page: the files go up with tus-js-client (resumable, in pieces), then the page shows the
// preview with a role per column and each file's kind (a sales file, its calendar, stores and items
// files), queues the load, and follows its progress until it is done.
const main = document.getElementById("main");
const csrf = main.dataset.csrf;
const CHUNK = Number(main.dataset.chunkBytes);
const LAYOUTS = {
  long: "one row per day, store and item",
  m5: "M5's wide file, a column per day",
  favorita: "Favorita's train.csv",
  walmart: "Walmart's weekly sales",
};
const KINDS = { sales: "sales", calendar: "calendar", stores: "stores", items: "items" };
const COMPANION_ROWS = 5;
const POLL_MS = 700;
const JOB_KEY = "upload-job";
const $ = (id) => document.getElementById(id);
let job = null; // the key of the upload being handled: the sales file, else the first file
let files = []; // the files of this upload, {key, name, kind}; the first is `job`
let columns = {}; // source column -> role, for the columns whose role the user corrected
let sending = null;

const fmtInt = (n) => (n == null ? "–" : Math.round(n).toLocaleString("en-US"));
function fmtBytes(n) {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${unit ? n.toFixed(1) : n} ${units[unit]}`;
}
function fmtSeconds(s) {
  if (s == null) return "–";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

async function call(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new Error(data?.error || `The server answered ${response.status}.`);
  return data;
}

function show(id, visible) {
  $(id).hidden = !visible;
}

// ------------------------------------------------------------ 1. sending the file

async function sendAll(list) {
  if (sending) sending.abort();
  show("mapping", false);
  show("load", false);
  show("send", true);
  show("send-cancel", true);
  const sent = [];
  try {
    for (const [n, file] of list.entries()) {
      const which = list.length > 1 ? ` (${n + 1} of ${list.length})` : "";
      sent.push(await sendOne(file, which));
    }
  } catch (error) {
    sending = null;
    $("send-label").textContent = `The upload stopped: ${tusMessage(error)}`;
    return;
  }
  show("send-cancel", false);
  $("send-label").textContent =
    list.length > 1 ? `${list.length} files are on the server.` : `${list[0].name} is on the server.`;
  afterSend(sent);
}

// One file up with tus; resolves with its upload's key.
function sendOne(file, which) {
  $("send-label").textContent = `Sending ${file.name}${which}…`;
  return new Promise((resolve, reject) => {
    const upload = new window.tus.Upload(file, {
      endpoint: "/api/uploads/files/",
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      headers: { "X-CSRFToken": csrf },
      metadata: { filename: file.name },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress(sent, total) {
        $("send-bar").value = total ? (100 * sent) / total : 0;
        $("send-label").textContent = `Sending ${file.name}${which}: ${fmtBytes(sent)} of ${fmtBytes(total)}`;
      },
      onError: reject,
      onSuccess() {
        sending = null;
        resolve(upload.url.split("/").filter(Boolean).pop());
      },
    });
    sending = upload;
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}

function tusMessage(error) {
  const body = error.originalResponse?.getBody?.();
  try {
    return JSON.parse(body).error;
  } catch {
    return navigator.onLine === false ? "the connection is down; choose the file again to resume" : error.message;
  }
}

async function afterSend(keys) {
  const states = await Promise.all(keys.map((key) => call(`/api/uploads/${key}`)));
  const failed = states.find((state) => state.status === "failed");
  if (failed) {
    job = failed.key;
    return finished(failed);
  }
  files = states.map((state) => ({ key: state.key, name: state.filename, kind: state.kind }));
  columns = {};
  pickMain();
  await preview();
}

// The job that loads is the sales file's (the others go with it), else the first file's.
function pickMain() {
  const main = files.find((file) => file.kind === "sales") ?? files[0];
  if (main.key !== job) columns = {};
  job = main.key;
  files = [main, ...files.filter((file) => file !== main)];
  sessionStorage.setItem(JOB_KEY, job);
}

// ------------------------------------------------------------ 2. preview and mapping

async function preview() {
  const [main, ...others] = files;
  let data;
  let companions;
  try {
    const body = main.kind === "sales" ? { columns, kind: main.kind } : { kind: main.kind };
    data = await call(`/api/uploads/${job}/preview`, { method: "POST", body });
    companions = await Promise.all(
      others.map((file) => call(`/api/uploads/${file.key}/preview`, { method: "POST", body: { kind: file.kind } })),
    );
  } catch (error) {
    $("mapping-sub").textContent = error.message;
    show("mapping", true);
    return;
  }
  const estimate = data.rows_estimate ? `, about ${fmtInt(data.rows_estimate)} rows` : "";
  const layout = LAYOUTS[data.layout] ? `${data.layout} (${LAYOUTS[data.layout]})` : data.layout;
  const warnings = data.warnings.length ? ` ${data.warnings.join(" ")}` : "";
  const correct = main.kind === "sales" ? " Correct a column's role in its menu." : "";
  $("mapping-sub").textContent =
    `${main.name}: ${main.kind === "sales" ? `layout ${layout}` : `a ${main.kind} file`}${estimate}; ` +
    `compression: ${data.compression}. The first ${data.rows.length} rows are shown.${correct}${warnings}`;
  renderFiles();
  renderPreview(data, main.kind === "sales");
  renderCompanions(others, companions);
  const missing = [
    ...data.missing.map((role) => (main.kind === "sales" ? role : `${role} (${main.name})`)),
    ...others.flatMap((file, n) => companions[n].missing.map((role) => `${role} (${file.name})`)),
  ];
  const note = $("mapping-missing");
  note.hidden = missing.length === 0;
  note.textContent = `No column is mapped to: ${missing.join(", ")}.`;
  $("start").disabled = missing.length > 0;
  // Replace or append is the sales file's; attribute files alone add to the history as it is.
  show("mode", main.kind === "sales");
  show("mapping", true);
}

// The files of this upload, each with a menu to correct its kind.
function renderFiles() {
  $("files").replaceChildren(
    ...files.map((file, n) => {
      const item = document.createElement("li");
      const id = `kind-${n}`;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = file.name;
      const select = document.createElement("select");
      select.id = id;
      select.dataset.file = file.name;
      for (const [kind, text] of Object.entries(KINDS))
        select.append(new Option(text, kind, false, kind === file.kind));
      select.addEventListener("change", () => {
        file.kind = select.value;
        pickMain();
        preview();
      });
      item.append(label, select);
      return item;
    }),
  );
}

function renderCompanions(others, previews) {
  $("companions").replaceChildren(
    ...others.map((file, n) => {
      const data = previews[n];
      const section = document.createElement("div");
      section.className = "companion";
      const title = document.createElement("h3");
      title.textContent = `${file.name} (${file.kind})`;
      const wrap = document.createElement("div");
      wrap.className = "table-wrap";
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", `The first rows of ${file.name}`);
      const table = document.createElement("table");
      table.className = "preview";
      table.append(document.createElement("thead"), document.createElement("tbody"));
      fillTable(table, data, false, COMPANION_ROWS);
      wrap.append(table);
      section.append(title, wrap);
      return section;
    }),
  );
}

function renderPreview(data, menus) {
  fillTable($("preview"), data, menus, data.rows.length);
}

// A preview's table: a column's name, type and role (a menu to correct it when `menus`), then its rows.
function fillTable(table, data, menus, rows) {
  const head = document.createElement("tr");
  data.columns.forEach((column, n) => {
    const th = document.createElement("th");
    th.scope = "col";
    const type = document.createElement("span");
    type.className = "col__type";
    type.textContent = column.role ? `${column.type} · ${column.role.replace("_", " ")}` : column.type;
    if (!menus) {
      th.append(column.name, type);
      head.append(th);
      return;
    }
    type.textContent = column.type;
    const id = `role-${n}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = column.name;
    const select = document.createElement("select");
    select.id = id;
    select.dataset.column = column.name;
    for (const role of ["", ...data.roles]) {
      select.append(new Option(role ? role.replace("_", " ") : "not loaded", role, false, role === column.role));
    }
    select.addEventListener("change", () => {
      // One column per role: a column that held it before lets it go.
      for (const other of data.columns)
        if (other.name !== column.name && other.role === select.value && select.value) columns[other.name] = "";
      columns[column.name] = select.value;
      preview();
    });
    th.append(label, type, select);
    head.append(th);
  });
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(
    ...data.rows.slice(0, rows).map((row) => {
      const tr = document.createElement("tr");
      for (const value of row) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      return tr;
    }),
  );
}

async function start() {
  const mode = document.querySelector('input[name="mode"]:checked').value;
  $("start").disabled = true;
  try {
    const [main, ...others] = files;
    const state = await call(`/api/uploads/${job}/start`, {
      method: "POST",
      body: {
        columns: main.kind === "sales" ? columns : {},
        kind: main.kind,
        files: Object.fromEntries(others.map((file) => [file.key, file.kind])),
        mode,
        dry_run: $("dry-run").checked,
      },
    });
    show("mapping", false);
    follow(state);
  } catch (error) {
    $("mapping-missing").textContent = error.message;
    $("mapping-missing").hidden = false;
    $("start").disabled = false;
  }
}

// ------------------------------------------------------------ 3. the load

const FINISHED = new Set(["done", "checked", "failed", "cancelled"]);
const STAGES = {
  queued: "Queued",
  waiting: "Waiting for another load to finish",
  starting: "Starting",
  reading: "Reading the file",
  copied: "Writing the history",
  written: "Rebuilding the totals",
  rebuilt: "Filling the days up to today",
  rollups: "Committing",
  committed: "Tidying up",
};

function follow(state) {
  show("load", true);
  show("report", false);
  show("load-open", false);
  show("load-cancel", true);
  render(state);
  if (!FINISHED.has(state.status)) setTimeout(poll, POLL_MS);
}

async function poll() {
  try {
    follow(await call(`/api/uploads/${job}`));
  } catch (error) {
    $("load-label").textContent = `${error.message} Retrying…`;
    setTimeout(poll, POLL_MS * 3);
  }
}

function render(state) {
  if (FINISHED.has(state.status)) return finished(state);
  const p = state.progress;
  const bar = $("load-bar");
  if (p.rows_estimate && p.stage === "reading") bar.value = Math.min(99, (100 * p.rows) / p.rows_estimate);
  else bar.removeAttribute("value");
  let text = STAGES[p.stage] || "Loading";
  if (state.status === "queued" && p.queue_position) text = `Queued: ${p.queue_position} load(s) ahead of this one`;
  const parts = [text];
  if (p.rows) parts.push(`${fmtInt(p.rows)} rows`);
  if (p.rows_per_second) parts.push(`${fmtInt(p.rows_per_second)} rows/s`);
  if (p.seconds_left != null) parts.push(`about ${fmtSeconds(p.seconds_left)} left`);
  $("load-label").textContent = parts.join(" · ");
}

function finished(state) {
  show("load", true);
  show("load-cancel", false);
  sessionStorage.removeItem(JOB_KEY);
  const bar = $("load-bar");
  bar.value = state.status === "done" || state.status === "checked" ? 100 : 0;
  const took = state.seconds != null ? ` in ${fmtSeconds(state.seconds)}` : "";
  const names = [state.filename, ...state.companions.map((file) => file.filename)].join(" and ");
  const messages = {
    done:
      state.kind === "sales"
        ? `Loaded ${fmtInt(state.rows)} rows${took}. The dashboard shows them now.`
        : `Read ${fmtInt(state.rows)} rows from ${names}${took}.`,
    checked: `Dry run: all ${fmtInt(state.rows)} rows are valid${took}. Nothing was written.`,
    failed: state.problem_total ? `${state.error}.` : `Failed: ${state.error}`,
    cancelled: `Cancelled: ${state.error || "the history is as it was"}.`,
  };
  $("load-label").textContent = messages[state.status];
  if (state.status === "done") {
    show("load-open", true);
    // Dashboards open in this browser's other tabs reload their panels.
    new BroadcastChannel("sales-history").postMessage({ type: "loaded", rows: state.rows });
  }
  if (state.problem_total) report(state);
  history();
}

function report(state) {
  show("report", true);
  const shown = state.problems.length;
  const rest = state.problem_total - shown;
  $("report-sub").textContent =
    `${fmtInt(state.problem_total)} problem(s)` +
    (rest > 0 ? `; the first ${fmtInt(shown)} are listed here, ${fmtInt(rest)} more in the downloaded report.` : ".");
  $("report")
    .querySelector("tbody")
    .replaceChildren(
      ...state.problems.map((problem) => {
        const tr = document.createElement("tr");
        for (const value of [problem.line, problem.column, problem.value, problem.message]) {
          const td = document.createElement("td");
          td.textContent = value ?? "";
          tr.append(td);
        }
        return tr;
      }),
    );
  $("report-csv").href = `/api/uploads/${state.key}/report.csv`;
}

async function cancelLoad() {
  $("load-cancel").disabled = true;
  try {
    follow(await call(`/api/uploads/${job}/cancel`, { method: "POST" }));
  } catch (error) {
    $("load-label").textContent = error.message;
  } finally {
    $("load-cancel").disabled = false;
  }
}

// ------------------------------------------------------------ history

async function history() {
  let data;
  try {
    data = await call("/api/uploads/");
  } catch {
    return;
  }
  show("history-empty", data.results.length === 0);
  $("history").tBodies[0].replaceChildren(
    ...data.results.map((row) => {
      const tr = document.createElement("tr");
      const cells = [
        new Date(row.created_at).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }),
        row.user ?? "",
        [row.filename, ...row.companions.map((file) => file.filename)].join(" + "),
        fmtInt(row.rows),
        row.seconds == null ? "–" : fmtSeconds(row.seconds),
        row.expired_at && row.status !== "expired" ? `${row.status_label} (file expired)` : row.status_label,
      ];
      for (const value of cells) {
        const td = document.createElement("td");
        td.textContent = value;
        tr.append(td);
      }
      tr.lastChild.className = `outcome--${row.status}`;
      return tr;
    }),
  );
}

// ------------------------------------------------------------ wiring

function init() {
  $("max-size").textContent = fmtBytes(Number(main.dataset.maxBytes));
  const input = $("file");
  const drop = $("drop");
  input.addEventListener("change", () => input.files.length && sendAll([...input.files]));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.dataset.over = "true";
  });
  drop.addEventListener("dragleave", () => delete drop.dataset.over);
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    delete drop.dataset.over;
    if (event.dataTransfer.files.length) sendAll([...event.dataTransfer.files]);
  });
  $("send-cancel").addEventListener("click", () => {
    sending?.abort(true);
    sending = null;
    $("send-label").textContent = "Upload stopped and discarded.";
    show("send-cancel", false);
  });
  $("start").addEventListener("click", start);
  $("discard").addEventListener("click", async () => {
    await Promise.all(
      files.map((file) => call(`/api/uploads/${file.key}/cancel`, { method: "POST" }).catch(() => null)),
    );
    show("mapping", false);
    history();
  });
  $("load-cancel").addEventListener("click", cancelLoad);
  history();
  // A load followed before this page was reloaded: follow it again.
  const previous = sessionStorage.getItem(JOB_KEY);
  if (previous) {
    job = previous;
    call(`/api/uploads/${job}`)
      .then((state) => {
        if (state.status !== "uploaded") return follow(state);
        files = [{ key: state.key, name: state.filename, kind: state.kind }];
        return preview();
      })
      .catch(() => sessionStorage.removeItem(JOB_KEY));
  }
  document.documentElement.dataset.ready = "true";
}

init();
