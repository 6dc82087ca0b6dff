// The filter bar: controls mirror the state (URL) and every change goes through setState.
import { createPicker } from "./picker.js";
import { bootstrap, byCode, getState, nameOf, rememberNames, resetState, setState } from "./state.js";

const form = document.getElementById("filters");
const pickers = {};

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
  // No pick means no filter: every store (item) counts.
  for (const [kind, picker] of Object.entries(pickers)) picker.set(state[kind]);
}

export function init() {
  // A picker's options narrow to the levels chosen above it: a region's stores, a category's departments.
  const within = {
    store: () => ({ region: getState().region }),
    item: () => ({ category: getState().category, department: getState().department }),
    region: () => ({}),
    category: () => ({}),
    department: () => ({ category: getState().category }),
  };
  for (const [kind, word] of [
    ["region", "regions"],
    ["category", "categories"],
    ["department", "departments"],
    ["store", "stores"],
    ["item", "items"],
  ]) {
    pickers[kind] = createPicker(form.querySelector(`#f-${word}`), {
      source: `/api/${word}`,
      word,
      onChange: (codes) => setState({ [kind]: codes }),
      nameOf: (code) => nameOf(kind, code),
      seen: (rows) => rememberNames(kind, rows),
      order: byCode,
      params: within[kind],
    });
  }
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
  syncControls();
}
