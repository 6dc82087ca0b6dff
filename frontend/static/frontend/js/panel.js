// The designed states of a panel: loading (shimmer), empty (what to try), error (what failed, and Retry), ready.
import { el } from "./format.js";

export function panelState(panel, state, { title = "", message = "", retry = null, action = null } = {}) {
  panel.dataset.state = state;
  panel.setAttribute("aria-busy", String(state === "loading"));
  const box = panel.querySelector(":scope > .panel__body > .state, :scope > .state");
  if (!box) return;
  box.replaceChildren();
  if (state === "loading") box.append(el("span", { className: "sr-only", textContent: "Loading…" }));
  if (state === "empty" || state === "error") {
    box.append(el("strong", { textContent: title }), el("span", { textContent: message }));
    if (retry)
      box.append(el("button", { type: "button", className: "btn btn--ghost", textContent: "Retry", onclick: retry }));
    if (action)
      box.append(
        el("button", { type: "button", className: "btn btn--ghost", textContent: action.label, onclick: action.run }),
      );
  }
}

/** Error text for a failed API call: missing endpoints (404/501) read as "not available yet", not as breakage. */
export function describeError(error) {
  if (error.status === 404) return { title: "Not available yet", message: error.message };
  if (error.status === 0)
    return { title: "Server unreachable", message: "Check your connection; this panel retries when you press Retry." };
  if (error.status >= 500)
    return { title: "The server had a problem", message: `It answered ${error.status}. Try again in a moment.` };
  return { title: "Could not load", message: error.message };
}

/** Run a panel's loader with its loading/error states; the newest call wins (earlier ones are aborted). */
export function loader(panel, load) {
  let controller = null;
  return async function run(...args) {
    controller?.abort();
    controller = new AbortController();
    const mine = controller;
    panelState(panel, "loading");
    try {
      await load(mine.signal, ...args);
    } catch (error) {
      if (error.name === "AbortError" || mine.signal.aborted) return;
      console.warn(`${panel.id}:`, error.message);
      panelState(panel, "error", { ...describeError(error), retry: () => run(...args) });
    }
  };
}
