// A searchable multi-select (ARIA combobox + listbox) whose options come from the API's paged list: type to
// narrow, arrows to move, Enter to pick or unpick, Escape to close, Backspace to drop the last pick.
import { getJSON } from "./api.js";
import { el } from "./format.js";

const SHOWN = 50; // options asked for at once; typing narrows the rest
const TYPING_MS = 150; // wait this long after a key before asking the API

function withData(node, id) {
  node.dataset.id = String(id);
  return node;
}

/** A picker over `source` (an API list of {code, name}) in `root`; `onChange(codes)` gets the selection,
 *  `nameOf` names a chip, `seen(rows)` hears of every option shown, `order` sorts codes, `params()` gives the
 *  list's other parameters (a region's stores: {region: [...]}) at each search. */
export function createPicker(root, { source, word, onChange, nameOf, seen, order, params = () => ({}) }) {
  const input = root.querySelector(".picker__input");
  const list = root.querySelector(".picker__list");
  const chips = root.querySelector(".picker__chips");
  const more = root.querySelector(".picker__more");
  const popup = root.querySelector(".picker__popup");
  let selected = [];
  let matches = [];
  let total = 0;
  let active = -1;
  let asked = null; // the search text and parameters of the answer shown
  let pending = null;
  let timer = 0;

  const optionId = (code) => `${list.id}-${encodeURIComponent(code).replaceAll("%", "_")}`;
  const isOpen = () => input.getAttribute("aria-expanded") === "true";

  /** Ask the API for the options matching the input (the latest question wins). */
  async function search() {
    const text = input.value.trim();
    const extra = params();
    const question = JSON.stringify([text, extra]);
    if (question === asked) return;
    pending?.abort();
    pending = new AbortController();
    try {
      const body = await getJSON(
        source,
        { ...extra, search: text || null, page_size: SHOWN },
        { signal: pending.signal },
      );
      asked = question;
      matches = body.results;
      total = body.count;
      seen(matches);
      if (active >= matches.length) active = matches.length - 1;
      draw();
    } catch (error) {
      if (error.name === "AbortError") return;
      more.textContent = `Cannot search ${word}: ${error.message}`;
    }
  }

  function searchSoon() {
    clearTimeout(timer);
    timer = setTimeout(search, TYPING_MS);
  }

  function draw() {
    const shown = matches;
    const chosen = new Set(selected);
    list.replaceChildren(
      ...shown.map((o, index) =>
        withData(
          el("li", {
            id: optionId(o.code),
            role: "option",
            className: index === active ? "is-active" : "",
            textContent: o.name && !o.name.includes(o.code) ? `${o.name} · ${o.code}` : o.name || o.code,
            ariaSelected: String(chosen.has(o.code)),
          }),
          o.code,
        ),
      ),
    );
    const rest = total - shown.length;
    more.textContent = !matches.length
      ? `No ${word} match “${input.value.trim()}”.`
      : rest > 0
        ? `${rest.toLocaleString()} more: keep typing to narrow.`
        : "";
    if (active >= shown.length) active = shown.length - 1;
    const node = active >= 0 ? list.children[active] : null;
    if (node) {
      input.setAttribute("aria-activedescendant", node.id);
      node.scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  }

  function open() {
    if (isOpen()) return;
    input.setAttribute("aria-expanded", "true");
    popup.hidden = false;
    draw();
    search();
  }

  function close() {
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    popup.hidden = true;
    active = -1;
  }

  function toggle(code) {
    const next = selected.includes(code) ? selected.filter((s) => s !== code) : [...selected, code].sort(order);
    onChange(next);
  }

  function move(step) {
    open();
    const count = Math.min(matches.length, SHOWN);
    if (!count) return;
    active = active < 0 ? (step > 0 ? 0 : count - 1) : (active + step + count) % count;
    draw();
  }

  input.addEventListener("input", () => {
    active = input.value.trim() ? 0 : -1; // Enter picks the best match straight away
    open();
    searchSoon();
  });
  input.addEventListener("focus", open);
  input.addEventListener("click", open);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") move(1);
    else if (event.key === "ArrowUp") move(-1);
    else if (event.key === "Home" && isOpen() && !input.value) move(-active);
    else if (event.key === "Enter") {
      if (!isOpen()) return event.preventDefault();
      // Typed ahead of the answer: ask now, then pick its best match.
      clearTimeout(timer);
      const index = active; // a key pressed meanwhile (Escape) must not change what Enter picks
      search().then(() => index >= 0 && matches[index] && toggle(matches[index].code));
    } else if (event.key === "Escape") {
      if (!isOpen() && !input.value) return;
      input.value = "";
      close();
    } else if (event.key === "Backspace" && !input.value && selected.length) toggle(selected[selected.length - 1]);
    else if (event.key === "Tab") close();
    else return;
    event.preventDefault();
  });
  // mousedown, not click: the input keeps focus, so the list stays open for the next pick.
  list.addEventListener("mousedown", (event) => {
    const option = event.target.closest("[role=option]");
    if (!option) return;
    event.preventDefault();
    active = [...list.children].indexOf(option);
    toggle(option.dataset.id);
  });
  chips.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-id], button[data-clear]");
    if (!button) return;
    if (button.dataset.clear) onChange([]);
    else toggle(button.dataset.id);
    input.focus();
  });
  document.addEventListener("mousedown", (event) => {
    if (isOpen() && !root.contains(event.target)) close();
  });
  root.addEventListener("focusout", (event) => {
    if (!root.contains(event.relatedTarget)) close();
  });

  /** Show `codes` as the selection (after a change, a reload, or back/forward). */
  function set(codes) {
    selected = [...codes];
    const chip = (code) => {
      const name = nameOf(code);
      const button = el(
        "button",
        { type: "button", className: "chip", title: `Remove ${name}`, ariaLabel: `Remove ${name}` },
        el("span", { textContent: name }),
        el("span", { ariaHidden: "true", textContent: "×" }),
      );
      return el("li", {}, withData(button, code));
    };
    const shown = selected.slice(0, 3).map(chip);
    if (selected.length > 3) {
      const clear = el("button", {
        type: "button",
        className: "chip chip--more",
        title: `Clear all ${selected.length} ${word}`,
        textContent: `+${selected.length - 3} · clear`,
      });
      clear.dataset.clear = "all";
      shown.push(el("li", {}, clear));
    }
    chips.replaceChildren(...shown);
    input.placeholder = selected.length ? `Add ${word}…` : `All ${word} · type to find`;
    root.dataset.count = String(selected.length);
    if (isOpen()) draw();
  }

  return { set };
}
