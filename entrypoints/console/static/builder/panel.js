// The side panel: the selected node's form (its id, name, config from its kind's schema,
// retry, timeout and what happens on error) or the selected edge's (its label), applied
// as the author types. A problem the save checks found is shown on its field.

import { attachCompletions } from "./completions.js";
import { configFields, element, readConfig } from "./kind_form.js";
import { ERROR_LABEL, problemTarget } from "./model.js";

const RETRY_FIELDS = [
  ["max_attempts", "Attempts", "How many times the node runs at most (1: no retry)."],
  ["initial_interval", "First wait (seconds)", "Before the second attempt."],
  ["backoff_coefficient", "Backoff", "Each wait is the previous one times this."],
  ["max_interval", "Longest wait (seconds)", ""],
];

function numberOrText(text) {
  const number = Number(text);
  return text.trim() === "" ? undefined : Number.isNaN(number) ? text : number;
}

export class Panel {
  constructor(element_, model, options) {
    this.element = element_;
    this.model = model;
    this.kinds = options.kinds;
    this.secrets = options.secrets || [];
    this.readonly = Boolean(options.readonly);
    this.onDone = options.onDone || (() => {});
    this.problems = [];
    this.selection = null;
  }

  show(selection) {
    this.selection = selection;
    if (selection && selection.node) this.showNode(selection.node);
    else if (selection && selection.edge !== undefined) this.showEdge(selection.edge);
    else this.element.replaceChildren();
    this.element.hidden = !selection;
  }

  // ---- A node ---------------------------------------------------------------------------
  showNode(id) {
    const node = this.model.node(id);
    if (!node) return this.show(null);
    const kind = this.kinds.get(node.kind) || { kind: node.kind, title: node.kind };
    const idInput = element("input", { id: "node-id", type: "text", autocomplete: "off", spellcheck: "false" });
    idInput.value = node.id;
    const nameInput = element("input", { id: "node-name", type: "text", autocomplete: "off" });
    nameInput.value = node.name || "";
    const idProblem = element("p", { id: "node-id-problem", class: "field-problem", hidden: true });
    idInput.setAttribute("aria-describedby", "node-id-problem");
    const config = element("fieldset", { class: "node-config" }, element("legend", { text: "Config" }), ...configFields(kind, node.config, "cfg"));
    const configProblem = element("p", { class: "field-problem", role: "alert", hidden: true });
    this.element.replaceChildren(
      element("h2", { id: "panel-title", text: `${kind.title} node` }),
      element("p", { class: "small muted" }, element("code", { text: node.kind }), kind.description ? ` — ${kind.description}` : ""),
      element("div", { class: "field" }, element("label", { for: "node-id", text: "Node id" }), idInput, idProblem),
      element("div", { class: "field" }, element("label", { for: "node-name" }, "Title ", element("span", { class: "muted", text: "(optional)" })), nameInput),
      config,
      configProblem,
      this.retryFields(node),
      this.actions(id),
    );
    this.element.setAttribute("aria-labelledby", "panel-title");
    for (const input of this.element.querySelectorAll("[data-template]")) {
      attachCompletions(input, () => this.suggestions(this.selection && this.selection.node));
    }
    this.offerSecretNames();
    if (this.readonly) for (const input of this.element.querySelectorAll("input, select, textarea")) input.disabled = true;
    idInput.addEventListener("change", () => {
      const refusal = this.model.renameNode(this.selection.node, idInput.value.trim());
      idProblem.hidden = !refusal;
      idProblem.textContent = refusal || "";
      idInput.setAttribute("aria-invalid", String(Boolean(refusal)));
      if (!refusal) this.selection = { node: idInput.value.trim() };
    });
    nameInput.addEventListener("input", () => this.model.updateNode(this.selection.node, { name: nameInput.value || undefined }));
    config.addEventListener("input", () => this.applyConfig(config, configProblem));
    config.addEventListener("change", () => this.applyConfig(config, configProblem));
    this.markProblems();
  }

  applyConfig(container, problem) {
    const read = readConfig(container);
    problem.hidden = !read.error;
    problem.textContent = read.error || "";
    if (!read.error) this.model.updateNode(this.selection.node, { config: read.config });
  }

  retryFields(node) {
    const retry = node.retry || {};
    const fields = RETRY_FIELDS.map(([name, label, hint]) => {
      const input = element("input", { id: `retry-${name}`, type: "text", inputmode: "decimal", "data-retry": name, autocomplete: "off" });
      if (retry[name] !== undefined) input.value = String(retry[name]);
      return element("div", { class: "field" }, element("label", { for: `retry-${name}`, text: label }), input, hint ? element("p", { class: "hint small muted", text: hint }) : "");
    });
    const timeout = element("input", { id: "node-timeout", type: "text", inputmode: "decimal", autocomplete: "off" });
    if (node.timeout !== undefined) timeout.value = String(node.timeout);
    const onError = element("select", { id: "node-on-error" }, element("option", { value: "fail", text: "fail the workflow" }), element("option", { value: "continue", text: "continue (take its error edges)" }));
    onError.value = node.on_error || "fail";
    const set = element(
      "fieldset",
      { class: "node-retry" },
      element("legend", { text: "Retry and timeout" }),
      ...fields,
      element("div", { class: "field" }, element("label", { for: "node-timeout", text: "Timeout (seconds)" }), timeout),
      element("div", { class: "field" }, element("label", { for: "node-on-error", text: "When it fails for good" }), onError),
    );
    set.addEventListener("input", () => this.applyRetry(set));
    set.addEventListener("change", () => this.applyRetry(set));
    return set;
  }

  applyRetry(set) {
    const retry = {};
    for (const input of set.querySelectorAll("[data-retry]")) {
      const value = numberOrText(input.value);
      if (value !== undefined) retry[input.dataset.retry] = value;
    }
    const timeout = numberOrText(set.querySelector("#node-timeout").value);
    const onError = set.querySelector("#node-on-error").value;
    this.model.updateNode(this.selection.node, {
      retry: Object.keys(retry).length ? retry : undefined,
      timeout,
      on_error: onError === "fail" ? undefined : onError,
    });
  }

  actions(id) {
    if (this.readonly) return "";
    const remove = element("button", { type: "button", class: "button quiet", text: "Delete node" });
    remove.addEventListener("click", () => {
      this.model.removeNode(id);
      this.onDone();
    });
    return element("div", { class: "form-actions" }, remove);
  }

  // ---- An edge --------------------------------------------------------------------------
  showEdge(index) {
    const edge = this.model.edges[index];
    if (!edge) return this.show(null);
    const labels = this.model.branchLabels(edge.from);
    const label = element("select", { id: "edge-label" }, element("option", { value: "", text: "always (when it succeeds)" }));
    for (const name of [...labels, ERROR_LABEL]) label.append(element("option", { value: name, text: name === ERROR_LABEL ? "error (when it fails)" : `branch "${name}"` }));
    label.value = edge.when || "";
    label.disabled = this.readonly;
    label.addEventListener("change", () => this.model.setEdgeLabel(index, label.value));
    const remove = element("button", { type: "button", class: "button quiet", text: "Delete edge" });
    remove.hidden = this.readonly;
    remove.addEventListener("click", () => {
      this.model.removeEdge(index);
      this.onDone();
    });
    this.element.replaceChildren(
      element("h2", { id: "panel-title", text: "Edge" }),
      element("p", {}, element("code", { text: edge.from }), " → ", element("code", { text: edge.to })),
      element("div", { class: "field" }, element("label", { for: "edge-label", text: "Taken" }), label),
      element("div", { class: "form-actions" }, remove),
    );
  }

  // A field that names a secret (`api_key_secret`) offers the workspace's secret names.
  offerSecretNames() {
    const fields = this.element.querySelectorAll('input[data-field$="_secret"]');
    if (!fields.length) return;
    const list = element("datalist", { id: "secret-names" }, ...this.secrets.map((name) => element("option", { value: name })));
    this.element.append(list);
    for (const input of fields) input.setAttribute("list", "secret-names");
  }

  // ---- Templates and problems -----------------------------------------------------------
  suggestions(id) {
    const upstream = id ? this.model.upstream(id) : [];
    return [
      "input.",
      ...upstream.map((node) => `nodes.${node}.output`),
      ...this.secrets.map((name) => `secrets.${name}`),
      "execution.id",
    ];
  }

  setProblems(problems) {
    this.problems = problems;
    this.markProblems();
  }

  // The problems of the node on show, on their fields (or at the top of its config).
  markProblems() {
    if (!this.selection || !this.selection.node) return;
    for (const shown of this.element.querySelectorAll(".field-problem[data-from-check]")) {
      shown.hidden = true;
      shown.removeAttribute("data-from-check");
    }
    const index = this.model.indexOf(this.selection.node);
    for (const problem of this.problems) {
      const target = problemTarget(problem.path);
      if (target.node !== index) continue;
      const name = target.field.replace(/^config\.?/, "").split(/[.[]/)[0];
      const field = target.field.startsWith("config")
        ? this.element.querySelector(`[data-config-field="${CSS.escape(name)}"]`) || this.element.querySelector('[data-config-field=""]')
        : null;
      const shown = field ? field.querySelector(".field-problem") : null;
      if (!shown) continue;
      shown.hidden = false;
      shown.dataset.fromCheck = "true";
      shown.textContent = problem.message;
      const input = field.querySelector("input, textarea, select");
      if (input) input.setAttribute("aria-invalid", "true");
    }
  }
}
