// The canvas: the workflow's nodes and edges drawn in SVG. Drag a node to move it, drag
// from its right handle (or its lower error handle) to another node to connect them,
// drag the background to pan, scroll (or the zoom buttons) to zoom. Nodes are focusable:
// Enter selects, arrow keys move, Delete removes. Only what changes is redrawn while
// dragging, so a 200-node graph stays fluid.

import { ERROR_LABEL } from "./model.js";

const SVG = "http://www.w3.org/2000/svg";
export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 56;
const TITLE_CHARS = 26;

function svg(tag, attributes) {
  const made = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) made.setAttribute(name, value);
  return made;
}

function edgePath(from, to, error) {
  const x1 = from.x + (error ? NODE_WIDTH - 18 : NODE_WIDTH);
  const y1 = from.y + (error ? NODE_HEIGHT : NODE_HEIGHT / 2);
  const x2 = to.x;
  const y2 = to.y + NODE_HEIGHT / 2;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  return `M${x1},${y1} C${x1 + bend},${y1 + (error ? 40 : 0)} ${x2 - bend},${y2} ${x2},${y2}`;
}

export class Canvas {
  constructor(element, model, options) {
    this.element = element;
    this.model = model;
    this.readonly = Boolean(options.readonly);
    this.kindTitle = options.kindTitle || ((kind) => kind);
    this.onSelect = options.onSelect || (() => {});
    this.onConnect = options.onConnect || (() => {});
    this.onStatus = options.onStatus || (() => {});
    this.auto = {};
    this.view = { x: 20, y: 20, scale: 1 };
    this.selected = null;
    this.statuses = {};
    this.problems = new Map();
    this.build();
    this.listen();
  }

  // ---- Drawing --------------------------------------------------------------------------
  build() {
    this.element.replaceChildren();
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
    defs.append(marker);
    this.viewport = svg("g", { class: "viewport" });
    this.edgeLayer = svg("g", { class: "edges" });
    this.nodeLayer = svg("g", { class: "nodes" });
    this.ghost = svg("path", { class: "edge ghost", d: "" });
    this.viewport.append(this.edgeLayer, this.nodeLayer, this.ghost);
    this.element.append(defs, this.viewport);
    this.applyView();
  }

  position(node) {
    const ui = node.ui || {};
    if (typeof ui.x === "number" && typeof ui.y === "number") return { x: ui.x, y: ui.y };
    return this.auto[node.id] || { x: 0, y: 0 };
  }

  render() {
    const started = performance.now();
    this.nodeGroups = new Map();
    const nodes = this.model.nodes.map((node, index) => this.drawNode(node, index));
    this.nodeLayer.replaceChildren(...nodes);
    this.drawEdges();
    this.lastRender = performance.now() - started;
  }

  drawNode(node, index) {
    const at = this.position(node);
    const title = node.name || node.id;
    const group = svg("g", {
      class: "bnode",
      "data-node": node.id,
      "data-kind": node.kind,
      transform: `translate(${at.x},${at.y})`,
      tabindex: "0",
      role: "button",
      "aria-label": `${title}, ${this.kindTitle(node.kind)}${this.readonly ? "" : ": Enter selects, arrows move, Delete removes"}`,
    });
    if (this.statuses[node.id]) group.dataset.status = this.statuses[node.id];
    if (this.selected && this.selected.node === node.id) group.classList.add("selected");
    const count = this.problems.get(index) || 0;
    if (count) group.classList.add("has-problem");
    const tooltip = svg("title");
    tooltip.textContent = `${title} (${node.kind})`;
    const label = svg("text", { x: "12", y: "23", class: "bnode-title" });
    label.textContent = title.length > TITLE_CHARS ? `${title.slice(0, TITLE_CHARS - 1)}…` : title;
    const kind = svg("text", { x: "12", y: "42", class: "bnode-kind" });
    kind.textContent = this.statuses[node.id] ? `${node.kind} · ${this.statuses[node.id].replace(/_/g, " ")}` : node.kind;
    group.append(tooltip, svg("rect", { width: NODE_WIDTH, height: NODE_HEIGHT, rx: "8", class: "bnode-box" }), label, kind);
    if (count) {
      const badge = svg("g", { class: "bnode-badge", transform: `translate(${NODE_WIDTH - 10},-6)` });
      const text = svg("text", { "text-anchor": "middle", y: "4" });
      text.textContent = "!";
      badge.append(svg("circle", { r: "9" }), text);
      group.append(badge);
    }
    group.append(svg("circle", { cx: "0", cy: NODE_HEIGHT / 2, r: "5", class: "handle handle-in" }));
    if (!this.readonly) {
      group.append(
        svg("circle", { cx: NODE_WIDTH, cy: NODE_HEIGHT / 2, r: "7", class: "handle handle-out", "data-handle": "out" }),
        svg("circle", { cx: NODE_WIDTH - 18, cy: NODE_HEIGHT, r: "6", class: "handle handle-error", "data-handle": "error" }),
      );
    }
    this.nodeGroups.set(node.id, group);
    return group;
  }

  drawEdges() {
    const drawn = [];
    this.model.edges.forEach((edge, index) => {
      const from = this.model.node(edge.from);
      const to = this.model.node(edge.to);
      if (!from || !to) return;
      const error = edge.when === ERROR_LABEL;
      const group = svg("g", { class: `bedge${error ? " error" : ""}`, "data-edge": String(index) });
      if (this.selected && this.selected.edge === index) group.classList.add("selected");
      const d = edgePath(this.position(from), this.position(to), error);
      group.append(svg("path", { d, class: "edge-hit" }), svg("path", { d, class: "edge-line", "marker-end": "url(#arrow)" }));
      if (edge.when) {
        const text = svg("text", { class: "edge-label" });
        text.textContent = edge.when;
        this.placeLabel(text, from, to, error);
        group.append(text);
      }
      drawn.push(group);
    });
    this.edgeLayer.replaceChildren(...drawn);
  }

  placeLabel(text, from, to, error) {
    const a = this.position(from);
    const b = this.position(to);
    text.setAttribute("x", String((a.x + NODE_WIDTH + b.x) / 2));
    text.setAttribute("y", String((a.y + b.y + NODE_HEIGHT) / 2 + (error ? 20 : -6)));
  }

  // One node's form changed: draw that node again, leave the rest as it is.
  redrawNode(id) {
    const old = this.nodeGroups && this.nodeGroups.get(id);
    const index = this.model.indexOf(id);
    if (!old || index < 0) return this.render();
    const focused = document.activeElement === old;
    const drawn = this.drawNode(this.model.node(id), index);
    old.replaceWith(drawn);
    if (focused) drawn.focus();
  }

  // While a node is dragged: move its group and redraw only the edges that touch it.
  moveDrawn(id) {
    const node = this.model.node(id);
    const group = this.nodeGroups.get(id);
    if (!node || !group) return;
    const at = this.position(node);
    group.setAttribute("transform", `translate(${at.x},${at.y})`);
    for (const drawn of this.edgeLayer.children) {
      const edge = this.model.edges[Number(drawn.dataset.edge)];
      if (!edge || (edge.from !== id && edge.to !== id)) continue;
      const error = edge.when === ERROR_LABEL;
      const d = edgePath(this.position(this.model.node(edge.from)), this.position(this.model.node(edge.to)), error);
      for (const path of drawn.querySelectorAll("path")) path.setAttribute("d", d);
      const label = drawn.querySelector("text");
      if (label) this.placeLabel(label, this.model.node(edge.from), this.model.node(edge.to), error);
    }
  }

  // ---- State shown on the drawing --------------------------------------------------------
  select(selection) {
    this.selected = selection;
    for (const group of this.nodeLayer.children) group.classList.toggle("selected", Boolean(selection && selection.node === group.dataset.node));
    for (const group of this.edgeLayer.children) group.classList.toggle("selected", Boolean(selection && selection.edge === Number(group.dataset.edge)));
    this.onSelect(selection);
  }

  setStatuses(statuses) {
    this.statuses = statuses || {};
    for (const [id, group] of this.nodeGroups || []) {
      const status = this.statuses[id];
      if (status) group.dataset.status = status;
      else delete group.dataset.status;
      const node = this.model.node(id);
      const kind = group.querySelector(".bnode-kind");
      if (node && kind) kind.textContent = status ? `${node.kind} · ${status.replace(/_/g, " ")}` : node.kind;
    }
  }

  setProblems(byNodeIndex) {
    this.problems = byNodeIndex;
    this.render();
  }

  // ---- Pan and zoom ---------------------------------------------------------------------
  applyView() {
    const { x, y, scale } = this.view;
    this.viewport.setAttribute("transform", `translate(${x},${y}) scale(${scale})`);
  }

  zoom(factor, around) {
    const box = this.element.getBoundingClientRect();
    const point = around || { x: box.width / 2, y: box.height / 2 };
    const scale = Math.min(2.5, Math.max(0.2, this.view.scale * factor));
    const ratio = scale / this.view.scale;
    this.view = { scale, x: point.x - (point.x - this.view.x) * ratio, y: point.y - (point.y - this.view.y) * ratio };
    this.applyView();
  }

  fit() {
    if (!this.model.nodes.length) return;
    const points = this.model.nodes.map((node) => this.position(node));
    const minX = Math.min(...points.map((p) => p.x));
    const minY = Math.min(...points.map((p) => p.y));
    const maxX = Math.max(...points.map((p) => p.x)) + NODE_WIDTH;
    const maxY = Math.max(...points.map((p) => p.y)) + NODE_HEIGHT;
    const box = this.element.getBoundingClientRect();
    if (!box.width || !box.height) return;  // not on show: nothing to fit into
    const scale = Math.min(1.2, Math.max(0.2, Math.min((box.width - 40) / (maxX - minX), (box.height - 40) / (maxY - minY))));
    this.view = { scale, x: 20 - minX * scale, y: 20 - minY * scale };
    this.applyView();
  }

  // Client coordinates -> canvas coordinates.
  toCanvas(clientX, clientY) {
    const box = this.element.getBoundingClientRect();
    return { x: (clientX - box.left - this.view.x) / this.view.scale, y: (clientY - box.top - this.view.y) / this.view.scale };
  }

  center() {
    const box = this.element.getBoundingClientRect();
    const at = this.toCanvas(box.left + box.width / 2, box.top + box.height / 2);
    return { x: at.x - NODE_WIDTH / 2, y: at.y - NODE_HEIGHT / 2 };
  }

  // ---- Pointer and keyboard -------------------------------------------------------------
  listen() {
    this.element.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.element.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.element.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.element.addEventListener("pointercancel", () => this.cancelGesture());
    this.element.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = this.element.getBoundingClientRect();
      this.zoom(event.deltaY < 0 ? 1.1 : 1 / 1.1, { x: event.clientX - box.left, y: event.clientY - box.top });
    }, { passive: false });
    this.element.addEventListener("keydown", (event) => this.keyDown(event));
  }

  pointerDown(event) {
    if (event.button !== 0) return;
    const handle = event.target.closest("[data-handle]");
    const nodeGroup = event.target.closest(".bnode");
    const edgeGroup = event.target.closest(".bedge");
    const start = { clientX: event.clientX, clientY: event.clientY };
    if (handle && nodeGroup && !this.readonly) {
      this.gesture = { type: "connect", from: nodeGroup.dataset.node, error: handle.dataset.handle === "error", ...start };
    } else if (nodeGroup) {
      const node = this.model.node(nodeGroup.dataset.node);
      const at = this.toCanvas(event.clientX, event.clientY);
      const origin = this.position(node);
      this.gesture = { type: "move", id: node.id, dx: at.x - origin.x, dy: at.y - origin.y, moved: false, ...start };
    } else if (edgeGroup) {
      this.gesture = { type: "edge", index: Number(edgeGroup.dataset.edge), ...start };
    } else {
      this.gesture = { type: "pan", x: this.view.x, y: this.view.y, moved: false, ...start };
    }
    this.element.setPointerCapture(event.pointerId);
  }

  pointerMove(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    const far = Math.hypot(event.clientX - gesture.clientX, event.clientY - gesture.clientY) > 3;
    if (gesture.type === "move" && (far || gesture.moved) && !this.readonly) {
      gesture.moved = true;
      const at = this.toCanvas(event.clientX, event.clientY);
      const node = this.model.node(gesture.id);
      node.ui = { ...(node.ui || {}), x: Math.round(at.x - gesture.dx), y: Math.round(at.y - gesture.dy) };
      this.moveDrawn(gesture.id);
    } else if (gesture.type === "pan" && (far || gesture.moved)) {
      gesture.moved = true;
      this.view.x = gesture.x + event.clientX - gesture.clientX;
      this.view.y = gesture.y + event.clientY - gesture.clientY;
      this.applyView();
    } else if (gesture.type === "connect") {
      const from = this.position(this.model.node(gesture.from));
      const at = this.toCanvas(event.clientX, event.clientY);
      const x1 = from.x + (gesture.error ? NODE_WIDTH - 18 : NODE_WIDTH);
      const y1 = from.y + (gesture.error ? NODE_HEIGHT : NODE_HEIGHT / 2);
      this.ghost.setAttribute("d", `M${x1},${y1} L${at.x},${at.y}`);
      this.ghost.classList.toggle("error", gesture.error);
    }
  }

  pointerUp(event) {
    const gesture = this.gesture;
    this.gesture = null;
    if (!gesture) return;
    if (gesture.type === "move") {
      if (gesture.moved) {
        const node = this.model.node(gesture.id);
        this.model.moveNode(gesture.id, node.ui.x, node.ui.y);
      } else {
        this.select({ node: gesture.id });
      }
    } else if (gesture.type === "edge") {
      this.select({ edge: gesture.index });
    } else if (gesture.type === "pan" && !gesture.moved) {
      this.select(null);
    } else if (gesture.type === "connect") {
      this.ghost.setAttribute("d", "");
      const target = document.elementFromPoint(event.clientX, event.clientY);
      const group = target && target.closest && target.closest(".bnode");
      if (group && group.dataset.node !== gesture.from) this.onConnect(gesture.from, group.dataset.node, gesture.error);
    }
  }

  cancelGesture() {
    this.gesture = null;
    this.ghost.setAttribute("d", "");
  }

  keyDown(event) {
    const group = event.target.closest && event.target.closest(".bnode");
    if (group && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      this.select({ node: group.dataset.node });
      return;
    }
    // The node with the focus is the one acted on, else the selection.
    const selected = group ? { node: group.dataset.node } : this.selected;
    if (!selected || this.readonly) return;
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      if (selected.node) this.model.removeNode(selected.node);
      else if (selected.edge !== undefined) this.model.removeEdge(selected.edge);
      this.select(null);
      return;
    }
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (selected.node && steps[event.key]) {
      event.preventDefault();
      const step = event.shiftKey ? 50 : 10;
      const at = this.position(this.model.node(selected.node));
      this.model.moveNode(selected.node, at.x + steps[event.key][0] * step, at.y + steps[event.key][1] * step);
      const moved = this.nodeGroups.get(selected.node);
      if (moved) moved.focus();
    }
  }
}
