// The filter bar: controls mirror the state (URL) and every change goes through setState.
import { el } from "./format.js";
import { bootstrap, getState, resetState, setState } from "./state.js";

const form = document.getElementById("filters");
const multis = [...form.querySelectorAll(".multi")];

function buildMulti(details, options) {
  const list = details.querySelector(".multi__list");
  const kind = details.dataset.kind;
  for (const option of options) {
    list.append(el("label", {}, el("input", { type: "checkbox", name: kind, value: String(option.id) }), el("span", { textContent: option.name })));
  }
  list.addEventListener("change", () => {
    const ids = [...list.querySelectorAll("input:checked")].map((i) => Number(i.value));
    // Everything ticked means no filter: keep the URL short and the API on its fast path.
    setState({ [kind]: ids.length === options.length ? [] : ids });
  });
  details.querySelector(".multi__actions").addEventListener("click", (event) => {
    if (event.target.dataset?.act === "all") setState({ [kind]: [] });
  });
  details.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && details.open) {
      details.open = false;
      details.querySelector("summary").focus();
    }
  });
}

function summaryText(ids, options, word) {
  if (!ids.length) return `All ${word}`;
  if (ids.length <= 2) return ids.map((id) => options.find((o) => o.id === id)?.name ?? id).join(", ");
  return `${ids.length} ${word}`;
}

/** Put the state into the controls (after load, a change, or back/forward). */
export function syncControls(state = getState()) {
  for (const input of form.querySelectorAll('input[name="granularity"]')) input.checked = input.value === state.g;
  for (const input of form.querySelectorAll('input[name="range"]')) input.checked = input.value === state.range;
  const from = form.querySelector("#f-from");
  const to = form.querySelector("#f-to");
  from.value = state.range === "custom" ? state.from : "";
  to.value = state.range === "custom" ? state.to : "";
  from.placeholder = to.placeholder = "";
  form.querySelector("#f-compare").value = state.compare;
  for (const details of multis) {
    const kind = details.dataset.kind;
    const options = kind === "store" ? bootstrap.stores : bootstrap.items;
    const chosen = new Set(state[kind]);
    const boxes = details.querySelectorAll(".multi__list input");
    // "No filter" shows every box unticked, so ticking one narrows to it.
    for (const input of boxes) input.checked = chosen.has(Number(input.value));
    details.querySelector(".multi__value").textContent = summaryText(state[kind], options, kind === "store" ? "stores" : "items");
  }
}

export function init() {
  buildMulti(form.querySelector("#f-stores"), bootstrap.stores);
  buildMulti(form.querySelector("#f-items"), bootstrap.items);
  const dates = [form.querySelector("#f-from"), form.querySelector("#f-to")];
  for (const input of dates) {
    if (bootstrap.date_from) input.min = bootstrap.date_from;
    input.addEventListener("change", () => {
      const [from, to] = dates.map((d) => d.value);
      if (from && to && from > to) {
        input.setCustomValidity("The start must be on or before the end.");
        input.reportValidity();
        return;
      }
      input.setCustomValidity("");
      setState({ range: from || to ? "custom" : "all", from, to });
    });
  }
  form.addEventListener("change", (event) => {
    const { name, value } = event.target;
    if (name === "granularity") setState({ g: value });
    if (name === "range") setState({ range: value });
    if (name === "compare") setState({ compare: value });
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  form.querySelector("#f-reset").addEventListener("click", resetState);
  // Close an open drop-down when focus or a click goes elsewhere.
  document.addEventListener("click", (event) => {
    for (const details of multis) if (details.open && !details.contains(event.target)) details.open = false;
  });
  syncControls();
}
