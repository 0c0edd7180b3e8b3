// The definition being built: nodes, edges and settings, with the operations the canvas,
// the side panel and the keyboard forms perform on it. Every change notifies the
// listeners with what kind of change it was, so each part redraws only what it must.

export const ERROR_LABEL = "error";

export class Model {
  constructor(document) {
    this.listeners = [];
    this.replace(document, "load");
  }

  // ---- Reading -------------------------------------------------------------------------
  get nodes() {
    return this.doc.nodes;
  }

  get edges() {
    return this.doc.edges;
  }

  node(id) {
    return this.doc.nodes.find((node) => node.id === id);
  }

  indexOf(id) {
    return this.doc.nodes.findIndex((node) => node.id === id);
  }

  freeId(kind) {
    const base = String(kind).split(".").pop().replace(/[^A-Za-z0-9_]/g, "_") || "node";
    const taken = new Set(this.doc.nodes.map((node) => node.id));
    if (!taken.has(base)) return base;
    let number = 2;
    while (taken.has(`${base}_${number}`)) number += 1;
    return `${base}_${number}`;
  }

  // The ids of the nodes upstream of `id`: what its templates may read as nodes.<id>.
  upstream(id) {
    const found = new Set();
    const queue = [id];
    while (queue.length) {
      const current = queue.shift();
      for (const edge of this.doc.edges) {
        if (edge.to === current && !found.has(edge.from)) {
          found.add(edge.from);
          queue.push(edge.from);
        }
      }
    }
    found.delete(id);
    return [...found];
  }

  // The labels a condition node can yield, in the order its cases give them.
  branchLabels(id) {
    const node = this.node(id);
    if (!node || node.kind !== "condition") return [];
    const config = node.config || {};
    const labels = (Array.isArray(config.cases) ? config.cases : [])
      .map((item) => item && item.when)
      .filter((label) => typeof label === "string" && label);
    if (typeof config.default === "string" && config.default) labels.push(config.default);
    return [...new Set(labels)];
  }

  // ---- Changing ------------------------------------------------------------------------
  subscribe(listener) {
    this.listeners.push(listener);
  }

  changed(reason, detail) {
    for (const listener of this.listeners) listener(reason, detail);
  }

  replace(document, reason = "replace") {
    const doc = document && typeof document === "object" && !Array.isArray(document) ? document : {};
    this.doc = {
      ...doc,
      nodes: Array.isArray(doc.nodes) ? doc.nodes.filter((node) => node && typeof node === "object") : [],
      edges: Array.isArray(doc.edges) ? doc.edges.filter((edge) => edge && typeof edge === "object") : [],
    };
    this.changed(reason);
  }

  addNode(kind, config, position) {
    const node = { id: this.freeId(kind), kind, config: structuredClone(config || {}) };
    if (position) node.ui = { x: Math.round(position.x), y: Math.round(position.y) };
    this.doc.nodes.push(node);
    this.changed("structure", { added: node.id });
    return node;
  }

  removeNode(id) {
    this.doc.nodes = this.doc.nodes.filter((node) => node.id !== id);
    this.doc.edges = this.doc.edges.filter((edge) => edge.from !== id && edge.to !== id);
    this.changed("structure", { removed: id });
  }

  // Refuses (with the reason) an edge to itself, or one that is already there.
  addEdge(from, to, when) {
    if (from === to) return "A node cannot lead to itself.";
    if (!this.node(from) || !this.node(to)) return "Both ends must be nodes of the workflow.";
    const same = this.doc.edges.some(
      (edge) => edge.from === from && edge.to === to && (edge.when || null) === (when || null),
    );
    if (same) return `There already is an edge from ${from} to ${to}.`;
    const edge = { from, to };
    if (when) edge.when = when;
    this.doc.edges.push(edge);
    this.changed("structure", { edge });
    return null;
  }

  // The label a new edge from a condition takes: the first of its labels no edge uses yet.
  nextLabel(from) {
    const labels = this.branchLabels(from);
    if (!labels.length) return null;
    const used = new Set(this.doc.edges.filter((edge) => edge.from === from).map((edge) => edge.when));
    return labels.find((label) => !used.has(label)) || labels[0];
  }

  setEdgeLabel(index, when) {
    const edge = this.doc.edges[index];
    if (!edge) return;
    if (when) edge.when = when;
    else delete edge.when;
    this.changed("structure", { edge });
  }

  removeEdge(index) {
    this.doc.edges.splice(index, 1);
    this.changed("structure");
  }

  // Renames a node and the edges that name it (templates that read it are the author's).
  renameNode(oldId, newId) {
    if (oldId === newId) return null;
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(newId)) {
      return "Use 1 to 64 letters, digits or _, starting with a letter or _.";
    }
    if (this.node(newId)) return `Another node already has the id ${newId}.`;
    const node = this.node(oldId);
    if (!node) return null;
    node.id = newId;
    for (const edge of this.doc.edges) {
      if (edge.from === oldId) edge.from = newId;
      if (edge.to === oldId) edge.to = newId;
    }
    this.changed("structure", { renamed: [oldId, newId] });
    return null;
  }

  updateNode(id, fields) {
    const node = this.node(id);
    if (!node) return;
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) delete node[key];
      else node[key] = value;
    }
    this.changed("node", { id });
  }

  moveNode(id, x, y, reason = "move") {
    const node = this.node(id);
    if (!node) return;
    node.ui = { ...(node.ui || {}), x: Math.round(x), y: Math.round(y) };
    this.changed(reason, { id });
  }

  place(positions) {
    for (const node of this.doc.nodes) {
      const at = positions[node.id];
      if (at) node.ui = { ...(node.ui || {}), x: Math.round(at.x), y: Math.round(at.y) };
    }
    this.changed("layout");
  }
}

// Which node (by index in `nodes`) and which field a problem's path points at:
// "nodes[2].config.url" -> {node: 2, field: "config.url"}; an edge -> {edge: 0}.
export function problemTarget(path) {
  const node = /^nodes\[(\d+)\](?:\.(.+))?$/.exec(path || "");
  if (node) return { node: Number(node[1]), field: node[2] || "" };
  const edge = /^edges\[(\d+)\]/.exec(path || "");
  if (edge) return { edge: Number(edge[1]) };
  return {};
}
