// A searchable multi-select for thousands of options (the ARIA combobox pattern with a listbox):
// type to narrow, arrows to move, Enter to pick or unpick, Escape to close, Backspace to drop the last pick.
import { el } from "./format.js";

const SHOWN = 50; // options drawn at once; typing narrows the rest

function withData(node, id) {
  node.dataset.id = String(id);
  return node;
}

/** A picker over `options` ([{id, name}]) in `root` (.picker). `onChange(ids)` gets the new selection. */
export function createPicker(root, options, { word, onChange }) {
  const input = root.querySelector(".picker__input");
  const list = root.querySelector(".picker__list");
  const chips = root.querySelector(".picker__chips");
  const more = root.querySelector(".picker__more");
  const popup = root.querySelector(".picker__popup");
  const byId = new Map(options.map((o) => [o.id, o]));
  let selected = [];
  let matches = [];
  let active = -1;

  const optionId = (id) => `${list.id}-${id}`;
  const isOpen = () => input.getAttribute("aria-expanded") === "true";

  function search(text) {
    const query = text.trim().toLowerCase();
    if (!query) return options;
    const number = /^\d+$/.test(query) ? Number(query) : null;
    const exact = number != null && byId.has(number) ? [byId.get(number)] : [];
    return [...exact, ...options.filter((o) => o.id !== number && o.name.toLowerCase().includes(query))];
  }

  function draw() {
    matches = search(input.value);
    const shown = matches.slice(0, SHOWN);
    const chosen = new Set(selected);
    list.replaceChildren(
      ...shown.map((o, index) =>
        withData(
          el("li", {
            id: optionId(o.id),
            role: "option",
            className: index === active ? "is-active" : "",
            textContent: o.name,
            ariaSelected: String(chosen.has(o.id)),
          }),
          o.id,
        ),
      ),
    );
    const rest = matches.length - shown.length;
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
  }

  function close() {
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    popup.hidden = true;
    active = -1;
  }

  function toggle(id) {
    const next = selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id].sort((a, b) => a - b);
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
    draw();
  });
  input.addEventListener("focus", open);
  input.addEventListener("click", open);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") move(1);
    else if (event.key === "ArrowUp") move(-1);
    else if (event.key === "Home" && isOpen() && !input.value) move(-active);
    else if (event.key === "Enter") {
      if (isOpen() && active >= 0 && matches[active]) toggle(matches[active].id);
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
    toggle(Number(option.dataset.id));
  });
  chips.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-id]");
    if (!button) return;
    if (button.dataset.id === "all") onChange([]);
    else toggle(Number(button.dataset.id));
    input.focus();
  });
  document.addEventListener("mousedown", (event) => {
    if (isOpen() && !root.contains(event.target)) close();
  });
  root.addEventListener("focusout", (event) => {
    if (!root.contains(event.relatedTarget)) close();
  });

  /** Show `ids` as the selection (after a change, a reload, or back/forward). */
  function set(ids) {
    selected = [...ids];
    const chip = (id) => {
      const name = byId.get(id)?.name ?? String(id);
      const button = el(
        "button",
        { type: "button", className: "chip", title: `Remove ${name}`, ariaLabel: `Remove ${name}` },
        el("span", { textContent: name }),
        el("span", { ariaHidden: "true", textContent: "×" }),
      );
      return el("li", {}, withData(button, id));
    };
    const shown = selected.slice(0, 3).map(chip);
    if (selected.length > 3) {
      const clear = el("button", {
        type: "button",
        className: "chip chip--more",
        title: `Clear all ${selected.length} ${word}`,
        textContent: `+${selected.length - 3} · clear`,
      });
      shown.push(el("li", {}, withData(clear, "all")));
    }
    chips.replaceChildren(...shown);
    input.placeholder = selected.length ? `Add ${word}…` : `All ${word} · type to find`;
    root.dataset.count = String(selected.length);
    if (isOpen()) draw();
  }

  return { set };
}
