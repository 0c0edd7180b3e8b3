// The workflow builder: wires the canvas, the side panel, the palette, the keyboard forms,
// the source tab, the checks as you type and the test run on the editor page. Without
// JavaScript the page is the source form alone, and still saves.

import { Canvas, NODE_HEIGHT } from "./canvas.js";
import { element } from "./kind_form.js";
import { Model, problemTarget } from "./model.js";
import { Panel } from "./panel.js";
import { layout, validate } from "./server.js";
import { SourceSync } from "./source_sync.js";
import { TestRun } from "./test_run.js";

const $ = (selector) => document.querySelector(selector);
const data = JSON.parse($("#builder-data").textContent);
const kinds = new Map(data.kinds.map((kind) => [kind.kind, kind]));
const form = $("form.editor");
const textarea = $("#definition");
const timings = (window.__builderTimings = {});

function debounce(action, wait) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => action(...args), wait);
  };
}

// ---- Tabs: canvas and source --------------------------------------------------------------
function showTab(name) {
  for (const tab of document.querySelectorAll("[data-builder-tabs] [role=tab]")) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !selected;
  }
}

function setUpTabs() {
  $("[data-builder-tabs]").hidden = false;
  for (const tab of document.querySelectorAll("[data-builder-tabs] [role=tab]")) {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      const other = tab.dataset.tab === "canvas" ? "source" : "canvas";
      showTab(other);
      $(`[data-tab="${other}"]`).focus();
    });
  }
  showTab("canvas");
}

// ---- Problems from the save checks, shown as the author works ----------------------------
function showProblems(problems, canvas, panel) {
  const byNode = new Map();
  for (const problem of problems) {
    const target = problemTarget(problem.path);
    if (target.node !== undefined) byNode.set(target.node, (byNode.get(target.node) || 0) + 1);
  }
  canvas.setProblems(byNode);
  panel.setProblems(problems);
  const list = $("#builder-problems");
  const title = problems.length ? `${problems.length} problem${problems.length === 1 ? "" : "s"}` : "No problems found";
  const items = problems.map((problem) => {
    const target = problemTarget(problem.path);
    const node = target.node !== undefined ? canvas.model.nodes[target.node] : null;
    const where = element("code", { class: "problem-path", text: problem.path || "(document)" });
    const item = element("li", { class: "problem live-problem", "data-live-path": problem.path }, where, element("p", { class: "problem-message", text: problem.message }));
    if (node) {
      const show = element("button", { type: "button", class: "link-button small", text: `show ${node.id}` });
      show.addEventListener("click", () => canvas.select({ node: node.id }));
      item.append(show);
    }
    return item;
  });
  list.replaceChildren(element("h2", { class: `problems-title${problems.length ? " bad" : ""}`, text: title }), element("ol", { class: "problems", role: "list" }, ...items));
}

// ---- Keyboard forms: add a node, connect two -----------------------------------------------
function fillConnectForm(model) {
  const from = $("#connect-from");
  const to = $("#connect-to");
  const keep = [from.value, to.value];
  const options = () => model.nodes.map((node) => element("option", { value: node.id, text: node.name ? `${node.id} (${node.name})` : node.id }));
  from.replaceChildren(...options());
  to.replaceChildren(...options());
  if (keep[0]) from.value = keep[0];
  if (keep[1]) to.value = keep[1];
  fillLabels(model);
}

function fillLabels(model) {
  const label = $("#connect-label");
  label.replaceChildren(element("option", { value: "", text: "always" }));
  for (const name of model.branchLabels($("#connect-from").value)) label.append(element("option", { value: name, text: `branch "${name}"` }));
  label.append(element("option", { value: "error", text: "on error" }));
}

function setUpKeyboardForms(model, canvas, say) {
  $("#add-kind").replaceChildren(...[...kinds.values()].map((kind) => element("option", { value: kind.kind, text: `${kind.title} (${kind.kind})` })));
  $("#add-node").addEventListener("click", () => {
    const kind = kinds.get($("#add-kind").value);
    const at = canvas.center();
    const step = model.nodes.length % 5;  // a cascade, so nodes added in a row do not hide each other
    const node = model.addNode(kind.kind, kind.example, { x: at.x + step * 40, y: at.y + step * (NODE_HEIGHT + 20) });
    canvas.select({ node: node.id });
    say(`Added node ${node.id}.`);
  });
  $("#connect-from").addEventListener("change", () => fillLabels(model));
  $("#connect").addEventListener("click", () => {
    const from = $("#connect-from").value;
    const to = $("#connect-to").value;
    const refusal = model.addEdge(from, to, $("#connect-label").value || null);
    say(refusal || `Connected ${from} to ${to}.`);
  });
}

// ---- The palette: click adds at the centre, drag drops where wanted ------------------------
function setUpPalette(model, canvas, say) {
  for (const button of document.querySelectorAll(".palette-kind")) {
    const kind = kinds.get(button.dataset.kind);
    if (!kind) continue;
    button.draggable = true;
    button.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("application/x-treadle-kind", kind.kind);
      event.dataTransfer.effectAllowed = "copy";
    });
    button.addEventListener("click", () => {
      const node = model.addNode(kind.kind, kind.example, canvas.center());
      canvas.select({ node: node.id });
      say(`Added a ${kind.title} node, ${node.id}.`);
    });
  }
  const wrap = $(".canvas-wrap");
  wrap.addEventListener("dragover", (event) => {
    if (!event.dataTransfer.types.includes("application/x-treadle-kind")) return;
    event.preventDefault();
    wrap.classList.add("drop-target");
  });
  wrap.addEventListener("dragleave", () => wrap.classList.remove("drop-target"));
  wrap.addEventListener("drop", (event) => {
    const kind = kinds.get(event.dataTransfer.getData("application/x-treadle-kind"));
    wrap.classList.remove("drop-target");
    if (!kind) return;
    event.preventDefault();
    const at = canvas.toCanvas(event.clientX, event.clientY);
    const node = model.addNode(kind.kind, kind.example, { x: at.x - 90, y: at.y - 28 });
    canvas.select({ node: node.id });
    say(`Added a ${kind.title} node, ${node.id}.`);
  });
}

// ---- Start ---------------------------------------------------------------------------------
async function start() {
  const began = performance.now();
  const model = new Model({ nodes: [], edges: [] });
  const status = $("#builder-status");
  const say = (text) => {
    status.textContent = text || "";
  };
  const sync = new SourceSync(textarea, model, { onProblem: say });
  model.replace((await sync.parse(textarea.value)) || { nodes: [], edges: [] }, "load");
  const panel = new Panel($("#builder-panel"), model, { kinds, secrets: data.secrets, readonly: data.readonly, onDone: () => canvas.select(null) });
  const canvas = new Canvas($("#builder-canvas"), model, {
    readonly: data.readonly,
    kindTitle: (kind) => (kinds.get(kind) || { title: kind }).title,
    onSelect: (selection) => showSelection(selection),
    onConnect: (from, to, error) => {
      const refusal = model.addEdge(from, to, error ? "error" : model.nextLabel(from));
      say(refusal || `Connected ${from} to ${to}.`);
    },
  });
  const testRun = new TestRun({
    canvas,
    status: $("#test-status"),
    getWorkflowId: () => data.workflow_id,
    onSaved: (saved) => becomeSaved(saved),
  });

  async function showSelection(selection) {
    panel.show(selection);
    const detail = $("#test-node");
    detail.replaceChildren();
    if (selection && selection.node && testRun.executionId) {
      const html = await testRun.nodeDetail(selection.node);
      if (html) detail.innerHTML = html;  // the console's own server-rendered, escaped partial
    }
  }

  function becomeSaved(saved) {
    if (data.workflow_id) return;
    data.workflow_id = saved.workflow_id;
    form.action = `/console/workflows/${saved.workflow_id}/edit`;
    $("#name").readOnly = true;
    const submit = form.querySelector("button[type=submit]");
    if (submit) submit.textContent = "Save new version";
    history.replaceState(null, "", `/console/workflows/${saved.workflow_id}/edit`);
  }

  const checkNow = async () => {
    try {
      const checked = await validate($("#name").value || null, model.doc);
      showProblems(checked.problems, canvas, panel);
    } catch (error) {
      say(`The checks could not run: ${error.message}`);
    }
  };
  const check = debounce(checkNow, 500);
  const arrangeMissing = async () => {
    if (model.nodes.every((node) => node.ui && typeof node.ui.x === "number")) return;
    canvas.auto = (await layout(model.doc)).positions;
  };

  model.subscribe(async (reason, detail) => {
    if (reason === "move") canvas.moveDrawn(detail.id);
    else if (reason === "node") canvas.redrawNode(detail.id);
    else {
      if (reason === "source" || reason === "load") await arrangeMissing();
      canvas.render();
    }
    if (reason === "structure" || reason === "source") {
      fillConnectForm(model);
      const selection = panel.selection;
      if (selection && selection.node && !model.node(selection.node)) canvas.select(null);
      if (selection && selection.edge !== undefined) canvas.select(model.edges[selection.edge] ? selection : null);
    }
    if (reason !== "source" && !data.readonly) sync.schedule();
    check();
  });

  setUpTabs();  // first: the canvas must be shown to be measured
  await arrangeMissing();
  canvas.render();
  canvas.fit();
  fillConnectForm(model);
  timings.render = performance.now() - began;
  if (data.readonly) {
    for (const hidden of document.querySelectorAll("[data-edit-only]")) hidden.hidden = true;
    return;
  }
  setUpPalette(model, canvas, say);
  setUpKeyboardForms(model, canvas, say);
  $("#arrange").addEventListener("click", async () => {
    model.place((await layout(model.doc)).positions);
    canvas.fit();
  });
  $("#zoom-in").addEventListener("click", () => canvas.zoom(1.2));
  $("#zoom-out").addEventListener("click", () => canvas.zoom(1 / 1.2));
  $("#zoom-fit").addEventListener("click", () => canvas.fit());
  $("#test-run").addEventListener("click", async () => {
    await sync.settled();
    const saved = await testRun.start($("#test-input").value, {
      name: $("#name").value,
      description: $("#description").value,
      text: textarea.value,
    });
    if (saved && !saved.saved && saved.problems) showProblems(saved.problems, canvas, panel);
  });
  form.addEventListener("submit", async (event) => {
    if (!sync.pending && !sync.scheduled) return;
    event.preventDefault();  // a YAML text is written by the server: wait for it
    await sync.settled();
    form.submit();  // no second submit event: the checks the browser makes were made
  });
  checkNow();
  window.__builder = { model, canvas };
}

start();
