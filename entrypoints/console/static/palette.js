// Treadle console: the editor's palette of node kinds. Choosing a kind opens a form built
// from the JSON Schema of its config (published by `GET /api/v1/node-kinds`); "Add node"
// appends the node to the definition, which must be JSON for that. Dragging a kind onto the
// definition adds it with its example config. Plain JavaScript, no build step.
"use strict";

(function () {
  const palette = document.querySelector("[data-palette]");
  const definition = document.getElementById("definition");
  const kindsData = document.getElementById("node-kinds");
  if (!palette || !definition || !kindsData) return;
  const kinds = new Map(JSON.parse(kindsData.textContent).map((kind) => [kind.kind, kind]));
  const panel = document.getElementById("palette-form");

  function element(tag, attributes, ...children) {
    const made = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === undefined || value === null) continue;
      if (name === "text") made.textContent = value;
      else made.setAttribute(name, value === true ? "" : value);
    }
    made.append(...children);
    return made;
  }

  // ---- Reading and writing the definition ------------------------------------------------
  function readDocument() {
    const text = definition.value.trim();
    if (!text) return { nodes: [], edges: [] };
    try {
      const parsed = JSON.parse(text);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : null;
    } catch (error) {
      return null;
    }
  }

  function freeId(documentValue, kind) {
    const base = kind.split(".").pop().replace(/[^A-Za-z0-9_]/g, "_");
    const taken = new Set((documentValue.nodes || []).map((node) => node && node.id));
    if (!taken.has(base)) return base;
    let number = 2;
    while (taken.has(`${base}_${number}`)) number += 1;
    return `${base}_${number}`;
  }

  function addNode(node) {
    const documentValue = readDocument();
    if (documentValue === null) {
      return "Adding a node needs the definition as JSON: fix or clear the text, then add again.";
    }
    documentValue.nodes = Array.isArray(documentValue.nodes) ? documentValue.nodes : [];
    if (documentValue.nodes.some((existing) => existing && existing.id === node.id)) {
      return `A node already has the id "${node.id}": choose another.`;
    }
    documentValue.nodes.push(node);
    definition.value = JSON.stringify(documentValue, null, 2);
    definition.dispatchEvent(new Event("input", { bubbles: true }));
    return null;
  }

  // ---- The form of a kind, from its JSON Schema ------------------------------------------
  function fieldSchema(schema) {
    // Optional[X] comes as anyOf [X, null]: the form edits X.
    const options = schema.anyOf || schema.oneOf;
    if (Array.isArray(options)) {
      const chosen = options.find((option) => option.type !== "null");
      if (chosen) return { ...chosen, title: schema.title, description: schema.description, default: schema.default };
    }
    return schema;
  }

  function initialValue(name, schema, example) {
    if (example && Object.prototype.hasOwnProperty.call(example, name)) return example[name];
    return schema.default;
  }

  function fieldFor(name, rawSchema, required, example) {
    const schema = fieldSchema(rawSchema);
    const id = `palette-field-${name}`;
    const hintId = `${id}-hint`;
    const value = initialValue(name, schema, example);
    const title = schema.title || name;
    const label = element("label", { for: id }, title, required ? "" : element("span", { class: "muted", text: " (optional)" }));
    let input;
    if (schema.type === "boolean") {
      input = element("input", { id, type: "checkbox", "data-field": name, "data-type": "boolean" });
      input.checked = Boolean(value);
    } else if (Array.isArray(schema.enum)) {
      input = element("select", { id, "data-field": name, "data-type": "enum" });
      if (!required) input.append(element("option", { value: "", text: "—" }));
      for (const choice of schema.enum) input.append(element("option", { value: String(choice), text: String(choice) }));
      if (value !== undefined) input.value = String(value);
    } else if (["string", "integer", "number"].includes(schema.type)) {
      // Text even for numbers: a field may hold a template such as {{ input.n }}.
      input = element("input", { id, type: "text", "data-field": name, "data-type": schema.type, autocomplete: "off", spellcheck: "false" });
      if (value !== undefined && value !== null) input.value = String(value);
    } else {
      input = element("textarea", { id, class: "code", rows: "3", "data-field": name, "data-type": "json", spellcheck: "false" });
      if (value !== undefined) input.value = JSON.stringify(value, null, 2);
    }
    if (required) input.setAttribute("aria-required", "true");
    const hint = schema.description ? element("p", { id: hintId, class: "hint small muted", text: schema.description }) : "";
    if (hint) input.setAttribute("aria-describedby", hintId);
    const field = element("div", { class: "field" }, label, input, hint);
    if (schema.type === "boolean") field.classList.add("checkbox-field");
    return field;
  }

  function readField(input) {
    const type = input.dataset.type;
    if (type === "boolean") return { value: input.checked };
    const text = input.value;
    if (text.trim() === "") return { empty: true };
    if (type === "integer" || type === "number") {
      const number = Number(text);
      return { value: text.includes("{{") || Number.isNaN(number) ? text : number };
    }
    if (type === "json") {
      try {
        return { value: JSON.parse(text) };
      } catch (error) {
        return { error: `${input.dataset.field}: not JSON (${error.message})` };
      }
    }
    return { value: text };
  }

  function configFrom(form) {
    const config = {};
    for (const input of form.querySelectorAll("[data-field]")) {
      const read = readField(input);
      if (read.error) return { error: read.error };
      if (read.empty) {
        if (input.getAttribute("aria-required") === "true") {
          return { error: `${input.dataset.field} is required.` };
        }
        continue;
      }
      config[input.dataset.field] = read.value;
    }
    const raw = form.querySelector("[data-raw-config]");
    if (raw) {
      try {
        return { config: JSON.parse(raw.value || "{}") };
      } catch (error) {
        return { error: `Config: not JSON (${error.message})` };
      }
    }
    return { config };
  }

  function configFields(kind) {
    const schema = kind.config_schema;
    if (!schema || !schema.properties) {
      const raw = element("textarea", { id: "palette-raw-config", class: "code", rows: "5", "data-raw-config": true, spellcheck: "false" });
      raw.value = JSON.stringify(kind.example || {}, null, 2);
      const help = element("p", { class: "hint small muted", text: "See docs/nodes.md for this kind's config." });
      return [element("div", { class: "field" }, element("label", { for: "palette-raw-config", text: "Config (JSON)" }), raw, help)];
    }
    const required = new Set(schema.required || []);
    return Object.entries(schema.properties).map(([name, property]) =>
      fieldFor(name, property, required.has(name), kind.example || {}),
    );
  }

  function openForm(kind, trigger) {
    for (const button of palette.querySelectorAll(".palette-kind")) {
      button.setAttribute("aria-expanded", String(button === trigger));
    }
    const documentValue = readDocument() || { nodes: [] };
    const idInput = element("input", { id: "palette-node-id", type: "text", autocomplete: "off", spellcheck: "false", "aria-required": "true" });
    idInput.value = freeId(documentValue, kind.kind);
    const message = element("p", { class: "problem-message", role: "alert" });
    const add = element("button", { type: "button", class: "button primary", text: "Add node" });
    const cancel = element("button", { type: "button", class: "button quiet", text: "Close" });
    panel.replaceChildren(
      element("h3", { id: "palette-form-title", text: `Add a ${kind.title} node` }),
      element("div", { class: "field" }, element("label", { for: "palette-node-id", text: "Node id" }), idInput),
      ...configFields(kind),
      element("div", { class: "form-actions" }, add, cancel),
      message,
    );
    panel.setAttribute("aria-labelledby", "palette-form-title");
    panel.hidden = false;
    idInput.focus();
    add.addEventListener("click", () => {
      const built = configFrom(panel);
      const id = idInput.value.trim();
      const refusal = built.error || (id ? addNode({ id, kind: kind.kind, config: built.config }) : "Give the node an id.");
      if (refusal) {
        message.textContent = refusal;
        return;
      }
      message.textContent = "";
      closeForm(trigger);
      announce(`Added node ${id} (${kind.kind}) to the definition.`);
    });
    cancel.addEventListener("click", () => closeForm(trigger));
  }

  function closeForm(trigger) {
    panel.hidden = true;
    panel.replaceChildren();
    for (const button of palette.querySelectorAll(".palette-kind")) button.setAttribute("aria-expanded", "false");
    if (trigger) trigger.focus();
  }

  const status = element("p", { class: "small muted", role: "status", "data-palette-status": true });
  palette.append(status);
  function announce(text) {
    status.textContent = text;
  }

  // ---- Choosing and dragging kinds --------------------------------------------------------
  for (const button of palette.querySelectorAll(".palette-kind")) {
    const kind = kinds.get(button.dataset.kind);
    if (!kind) continue;
    button.addEventListener("click", () => openForm(kind, button));
    button.draggable = true;
    button.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("application/x-treadle-kind", kind.kind);
      event.dataTransfer.effectAllowed = "copy";
    });
  }
  definition.addEventListener("dragover", (event) => {
    if (!event.dataTransfer.types.includes("application/x-treadle-kind")) return;
    event.preventDefault();
    definition.classList.add("drop-target");
  });
  definition.addEventListener("dragleave", () => definition.classList.remove("drop-target"));
  definition.addEventListener("drop", (event) => {
    const name = event.dataTransfer.getData("application/x-treadle-kind");
    if (!name) return;
    event.preventDefault();
    definition.classList.remove("drop-target");
    const kind = kinds.get(name);
    const documentValue = readDocument();
    const refusal = documentValue === null
      ? addNode({})
      : addNode({ id: freeId(documentValue, name), kind: name, config: kind.example || {} });
    announce(refusal || `Added a ${kind.title} node with its example config.`);
  });
})();
