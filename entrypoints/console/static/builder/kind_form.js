// A form for a node kind's config, built from the JSON Schema the kind publishes
// (`GET /api/v1/node-kinds`), and read back into a config. Scalar fields are text inputs
// even for numbers, since any field may hold a template such as {{ input.n }}; objects
// and arrays are JSON boxes; a kind without a schema gets one JSON box for its config.

export function element(tag, attributes, ...children) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === undefined || value === null) continue;
    if (name === "text") made.textContent = value;
    else made.setAttribute(name, value === true ? "" : value);
  }
  made.append(...children);
  return made;
}

// Optional[X] comes as anyOf [X, null], and "a number or a template" as anyOf [number,
// string]: the form edits the first non-null choice.
function fieldSchema(schema) {
  const options = schema.anyOf || schema.oneOf;
  if (Array.isArray(options)) {
    const chosen = options.find((option) => option.type !== "null");
    if (chosen) return { ...chosen, title: schema.title, description: schema.description, default: schema.default };
  }
  return schema;
}

function scalarInput(id, name, schema, value) {
  if (schema.type === "boolean") {
    const input = element("input", { id, type: "checkbox", "data-field": name, "data-type": "boolean" });
    input.checked = Boolean(value);
    return input;
  }
  if (Array.isArray(schema.enum)) {
    const input = element("select", { id, "data-field": name, "data-type": "enum" });
    input.append(element("option", { value: "", text: "—" }));
    for (const choice of schema.enum) input.append(element("option", { value: String(choice), text: String(choice) }));
    if (value !== undefined && value !== null) input.value = String(value);
    return input;
  }
  if (["string", "integer", "number"].includes(schema.type)) {
    const long = schema.type === "string" && (schema.format === "textarea" || /prompt|system|output/.test(name));
    const input = long
      ? element("textarea", { id, rows: "3", "data-field": name, "data-type": schema.type, spellcheck: "false" })
      : element("input", { id, type: "text", "data-field": name, "data-type": schema.type, autocomplete: "off", spellcheck: "false" });
    if (value !== undefined && value !== null) input.value = String(value);
    input.dataset.template = "true";
    return input;
  }
  const input = element("textarea", { id, class: "code", rows: "4", "data-field": name, "data-type": "json", spellcheck: "false" });
  if (value !== undefined) input.value = JSON.stringify(value, null, 2);
  input.dataset.template = "true";
  return input;
}

function resolve(schema, root) {
  if (schema && typeof schema.$ref === "string" && schema.$ref.startsWith("#/$defs/")) {
    const found = (root.$defs || {})[schema.$ref.slice(8)];
    return found ? { ...found, ...schema, $ref: undefined } : schema;
  }
  return schema;
}

// An array of small objects (a condition's cases): one group of fields per item.
function isListOfObjects(schema, root) {
  const items = schema.type === "array" && resolve(schema.items, root);
  return Boolean(items && items.type === "object" && items.properties);
}

function itemGroup(id, itemSchema, value, root) {
  const group = element("fieldset", { class: "item-group", "data-item": "true" });
  for (const [name, property] of Object.entries(itemSchema.properties)) {
    const schema = fieldSchema(resolve(property, root));
    const inputId = `${id}-${name}`;
    const input = scalarInput(inputId, name, schema, (value || {})[name]);
    input.removeAttribute("data-field");
    input.dataset.itemField = name;
    group.append(element("div", { class: "field" }, element("label", { for: inputId, text: schema.title || name }), input));
  }
  const remove = element("button", { type: "button", class: "link-button small", text: "Remove" });
  remove.addEventListener("click", () => {
    const list = group.parentElement;
    group.remove();
    list.dispatchEvent(new Event("change", { bubbles: true }));
  });
  group.append(remove);
  return group;
}

function listField(id, name, schema, value, root) {
  const itemSchema = resolve(schema.items, root);
  const list = element("div", { class: "item-list", "data-field-list": name });
  let count = 0;
  const add = (item) => list.append(itemGroup(`${id}-${count++}`, itemSchema, item, root));
  for (const item of Array.isArray(value) ? value : []) add(item);
  const more = element("button", { type: "button", class: "button small-button", text: `Add ${(schema.title || name).replace(/s$/i, "").toLowerCase()}` });
  more.addEventListener("click", () => {
    add({});
    list.dispatchEvent(new Event("change", { bubbles: true }));
  });
  return element("div", {}, list, more);
}

function field(prefix, name, rawSchema, required, value, root) {
  const schema = fieldSchema(resolve(rawSchema, root));
  const id = `${prefix}-${name}`;
  const list = isListOfObjects(schema, root);
  const input = list ? listField(id, name, schema, value, root) : scalarInput(id, name, schema, value);
  const title = schema.title || name;
  const label = element(list ? "p" : "label", list ? { class: "label" } : { for: id }, title, required ? "" : element("span", { class: "muted", text: " (optional)" }));
  const hint = schema.description ? element("p", { id: `${id}-hint`, class: "hint small muted", text: schema.description }) : "";
  const problem = element("p", { id: `${id}-problem`, class: "field-problem", hidden: true });
  if (!list) {
    input.setAttribute("aria-describedby", [hint ? `${id}-hint` : "", `${id}-problem`].filter(Boolean).join(" "));
    if (required) input.setAttribute("aria-required", "true");
  }
  return element("div", { class: `field${schema.type === "boolean" ? " checkbox-field" : ""}`, "data-config-field": name }, label, input, hint, problem);
}

// The fields of `kind`'s config, filled from `config` (or the kind's example and defaults).
export function configFields(kind, config, prefix = "cfg") {
  const schema = kind && kind.config_schema;
  if (!schema || !schema.properties) {
    const id = `${prefix}-raw`;
    const raw = element("textarea", { id, class: "code", rows: "8", "data-raw-config": "true", spellcheck: "false" });
    raw.value = JSON.stringify(config || {}, null, 2);
    raw.dataset.template = "true";
    const problem = element("p", { id: `${id}-problem`, class: "field-problem", hidden: true });
    raw.setAttribute("aria-describedby", `${id}-problem`);
    return [element("div", { class: "field", "data-config-field": "" }, element("label", { for: id, text: "Config (JSON)" }), raw, problem)];
  }
  const required = new Set(schema.required || []);
  const values = config || {};
  return Object.entries(schema.properties).map(([name, property]) =>
    field(prefix, name, property, required.has(name), Object.prototype.hasOwnProperty.call(values, name) ? values[name] : property.default, schema),
  );
}

function readInput(input) {
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
      return { error: `${input.dataset.field || input.dataset.itemField}: not JSON (${error.message})` };
    }
  }
  return { value: text };
}

// The config the form holds, or the first reason it cannot be read.
export function readConfig(container) {
  const raw = container.querySelector("[data-raw-config]");
  if (raw) {
    try {
      const parsed = JSON.parse(raw.value || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? { config: parsed } : { error: "Config must be a JSON object." };
    } catch (error) {
      return { error: `Config: not JSON (${error.message})` };
    }
  }
  const config = {};
  for (const input of container.querySelectorAll("[data-field]")) {
    const read = readInput(input);
    if (read.error) return { error: read.error };
    if (!read.empty) config[input.dataset.field] = read.value;
  }
  for (const list of container.querySelectorAll("[data-field-list]")) {
    const items = [];
    for (const group of list.querySelectorAll("[data-item]")) {
      const item = {};
      for (const input of group.querySelectorAll("[data-item-field]")) {
        const read = readInput(input);
        if (read.error) return { error: read.error };
        if (!read.empty) item[input.dataset.itemField] = read.value;
      }
      items.push(item);
    }
    config[list.dataset.fieldList] = items;
  }
  return { config };
}
