// Completions inside templates: typing `{{` in a field that takes one offers `input.`,
// the outputs of the nodes upstream of the node being edited and the workspace's secret
// names. Arrow keys choose, Enter or Tab inserts, Escape closes.

import { element } from "./kind_form.js";

let open = null;

function close() {
  if (open) open.list.remove();
  open = null;
}

// The text typed after the last unclosed `{{` before the caret, or null outside one.
function partial(input) {
  const before = input.value.slice(0, input.selectionStart);
  const start = before.lastIndexOf("{{");
  if (start < 0 || before.lastIndexOf("}}") > start) return null;
  return { start: start + 2, text: before.slice(start + 2).trimStart() };
}

function insert(input, typed, suggestion) {
  const before = input.value.slice(0, typed.start);
  const after = input.value.slice(input.selectionStart);
  const closing = after.trimStart().startsWith("}}") ? "" : " }}";
  input.value = `${before} ${suggestion}${closing}${after}`;
  const caret = before.length + 1 + suggestion.length + closing.length;
  input.setSelectionRange(caret, caret);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

function show(input, suggestions, typed) {
  close();
  const matches = suggestions.filter((item) => item.startsWith(typed.text)).slice(0, 12);
  if (!matches.length) return;
  const list = element("ul", { class: "completions", role: "listbox", id: `${input.id}-completions` });
  matches.forEach((item, index) => {
    const option = element("li", { role: "option", id: `${input.id}-completion-${index}`, "aria-selected": String(index === 0), text: item });
    option.addEventListener("mousedown", (event) => {
      event.preventDefault();
      insert(input, typed, item);
      close();
    });
    list.append(option);
  });
  input.after(list);
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-activedescendant", `${input.id}-completion-0`);
  open = { input, list, typed, matches, active: 0 };
}

function move(step) {
  const options = open.list.children;
  options[open.active].setAttribute("aria-selected", "false");
  open.active = (open.active + step + options.length) % options.length;
  options[open.active].setAttribute("aria-selected", "true");
  open.input.setAttribute("aria-activedescendant", options[open.active].id);
}

// Offer `suggestions()` (a function: they depend on the graph as it is now) in `input`.
export function attachCompletions(input, suggestions) {
  input.setAttribute("aria-autocomplete", "list");
  input.addEventListener("input", () => {
    const typed = partial(input);
    if (typed === null) close();
    else show(input, suggestions(), typed);
  });
  input.addEventListener("keydown", (event) => {
    if (!open || open.input !== input) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      const chosen = open.matches[open.active];
      const typed = open.typed;
      close();
      insert(input, typed, chosen);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}
