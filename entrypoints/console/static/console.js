// Treadle console: live status over server-sent events, the node panel, editor helpers.
// Plain JavaScript, no build step. Every page works without it; this makes it live.
"use strict";

(function () {
  const symbols = JSON.parse(document.getElementById("status-symbols")?.textContent || "{}");
  const label = (status) => status.replace(/_/g, " ");

  function badge(status, extra) {
    const span = document.createElement("span");
    span.className = `badge status-${status}${extra ? " " + extra : ""}`;
    span.dataset.status = status;
    const symbol = document.createElement("span");
    symbol.setAttribute("aria-hidden", "true");
    symbol.textContent = symbols[status] || "•";
    span.append(symbol, " " + label(status));
    return span;
  }

  function liveIndicator(state, text) {
    for (const note of document.querySelectorAll("[data-live-indicator]")) {
      note.dataset.state = state;
      const where = note.querySelector("[data-live-text]");
      if (where) where.textContent = text;
    }
  }

  function openStream(url, handlers) {
    const source = new EventSource(url);
    source.addEventListener("open", () => liveIndicator("live", "Live"));
    source.addEventListener("error", () => {
      if (source.readyState !== EventSource.CLOSED) liveIndicator("retrying", "Reconnecting…");
    });
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handle(JSON.parse(event.data), source));
    }
    return source;
  }

  // ---- Execution list: repaint status badges as executions change --------------------
  function watchList() {
    const table = document.querySelector("[data-live-list]");
    const banner = document.querySelector("[data-new-rows]");
    if (!table && !banner) return;
    const showNew = () => {
      if (banner) banner.hidden = false;
    };
    openStream("/console/live", {
      message(change) {
        const row = document.querySelector(`tr[data-execution="${CSS.escape(change.execution_id)}"]`);
        if (!row) {
          if (change.type === "execution_created") showNew();
          return;
        }
        const cell = row.querySelector(".status-cell");
        if (cell && change.status) cell.replaceChildren(badge(change.status));
      },
      reset: showNew,
    });
  }

  // ---- Execution page: graph, timeline, actions, node panel --------------------------
  function watchExecution(page) {
    const id = page.dataset.execution;
    let after = Number(page.dataset.after || 0);
    const timeline = page.querySelector("[data-timeline]");
    const source = openStream(`/console/executions/${encodeURIComponent(id)}/live?after=${after}`, {
      step(item) {
        if (item.seq <= after) return;
        after = item.seq;
        timeline?.append(timelineRow(item));
        const scroller = timeline?.closest(".timeline-scroll");
        if (scroller) scroller.scrollTop = scroller.scrollHeight;
      },
      state(state) {
        repaint(page, state);
      },
      end(end, stream) {
        stream.close();
        liveIndicator("ended", `Finished: ${label(end.status)}`);
        const output = page.querySelector("[data-execution-output]");
        if (output && end.output !== null) output.textContent = end.output;
        refreshPanel(id);
      },
    });
    window.addEventListener("pagehide", () => source.close());
  }

  function timelineRow(item) {
    const row = document.createElement("tr");
    row.className = `tone-${item.tone} fresh`;
    row.dataset.seq = item.seq;
    const cells = [
      [String(item.seq), "num muted"],
      [item.time, "mono small"],
      [item.node_id + (item.attempt ? ` #${item.attempt}` : ""), "mono"],
      [item.text, ""],
    ];
    for (const [text, className] of cells) {
      const cell = document.createElement("td");
      cell.className = className;
      cell.textContent = text;
      row.append(cell);
    }
    // The time is a <time> element, as the server renders it (the same text and format).
    const when = document.createElement("time");
    when.dateTime = item.when;
    when.textContent = item.time;
    row.children[1].replaceChildren(when);
    return row;
  }

  function repaint(page, state) {
    const holder = page.querySelector("[data-execution-status]");
    if (holder && holder.firstElementChild?.dataset.status !== state.status) {
      holder.replaceChildren(badge(state.status, "large"));
    }
    for (const form of page.querySelectorAll('[data-when="active"]')) form.hidden = state.terminal;
    for (const form of page.querySelectorAll('[data-when="retryable"]')) {
      form.hidden = !["failed", "timed_out"].includes(state.status);
    }
    let panelChanged = false;
    const open = page.querySelector("[data-node-panel]");
    for (const [nodeId, run] of Object.entries(state.nodes)) {
      const node = page.querySelector(`.node[data-node="${CSS.escape(nodeId)}"]`);
      if (!node) continue;
      if (node.dataset.status !== run.status) paintNode(node, run);
      if (open && open.dataset.nodePanel === nodeId && open.dataset.status !== run.status) panelChanged = true;
    }
    if (panelChanged) refreshPanel(page.dataset.execution);
  }

  function paintNode(node, run) {
    node.dataset.status = run.status;
    const status = node.querySelector(".node-status");
    if (status) status.textContent = `${symbols[run.status] || "•"} ${label(run.status)}`;
    const attempt = node.querySelector(".node-attempt");
    if (attempt) attempt.textContent = run.attempt > 1 ? `×${run.attempt}` : "";
    const name = (node.getAttribute("aria-label") || "").replace(/: [^:]*$/, "");
    node.setAttribute("aria-label", `${name}: ${label(run.status)}`);
  }

  async function showNode(executionId, nodeId, { focusPanel } = {}) {
    const url = `/console/executions/${encodeURIComponent(executionId)}/nodes/${encodeURIComponent(nodeId)}`;
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    const panel = document.getElementById("node-panel");
    if (!response.ok || !panel) return;
    panel.innerHTML = await response.text();
    for (const node of document.querySelectorAll("a.node")) {
      node.setAttribute("aria-pressed", String(node.dataset.node === nodeId));
    }
    const address = new URL(window.location.href);
    address.searchParams.set("node", nodeId);
    address.searchParams.delete("notice");
    address.hash = "";
    history.replaceState(null, "", address);
    if (focusPanel) panel.focus();
  }

  function refreshPanel(executionId) {
    const open = document.querySelector("[data-node-panel]");
    if (open) showNode(executionId, open.dataset.nodePanel);
  }

  function wireGraph(page) {
    const executionId = page.dataset.execution;
    for (const node of page.querySelectorAll("a.node")) {
      node.addEventListener("click", (event) => {
        event.preventDefault();
        showNode(executionId, node.dataset.node);
      });
      node.addEventListener("keydown", (event) => {
        if (event.key === " " || event.key === "Spacebar") {
          event.preventDefault();
          showNode(executionId, node.dataset.node);
        }
      });
    }
    const open = page.querySelector("[data-node-panel]");
    if (open) {
      const node = page.querySelector(`a.node[data-node="${CSS.escape(open.dataset.nodePanel)}"]`);
      node?.setAttribute("aria-pressed", "true");
    }
  }

  // ---- Editor: jump from a problem to its line -----------------------------------------
  function wireEditor() {
    const area = document.getElementById("definition");
    if (!area) return;
    for (const button of document.querySelectorAll(".jump[data-line]")) {
      button.addEventListener("click", () => {
        const line = Number(button.dataset.line);
        const lines = area.value.split("\n");
        const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
        area.focus();
        area.setSelectionRange(start, start + (lines[line - 1] || "").length);
        const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 20;
        area.scrollTop = Math.max(0, (line - 4) * lineHeight);
      });
    }
  }

  function wireConfirms() {
    for (const form of document.querySelectorAll("form[data-confirm]")) {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    }
  }

  // ---- Copy buttons: put a field's value (a webhook URL) on the clipboard ------------
  function wireCopies() {
    for (const button of document.querySelectorAll("[data-copy]")) {
      button.addEventListener("click", async () => {
        const field = document.getElementById(button.dataset.copy);
        if (!field) return;
        field.select();
        try {
          await navigator.clipboard.writeText(field.value);
          button.textContent = "Copied";
        } catch {
          button.textContent = "Press Ctrl+C";
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireCopies();
    wireConfirms();
    wireEditor();
    const page = document.querySelector("[data-execution-page]");
    if (page) {
      wireGraph(page);
      watchExecution(page);
    } else {
      watchList();
    }
  });
})();
