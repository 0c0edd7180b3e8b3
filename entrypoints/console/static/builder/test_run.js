// "Test": save the definition as a new version, start it with the input typed in the test
// panel, and colour the canvas's nodes as the execution runs (the console's live stream).
// Choosing a node afterwards shows its input, output and error from the run.

import { save, run } from "./server.js";

export class TestRun {
  constructor(options) {
    this.form = options.form;
    this.canvas = options.canvas;
    this.status = options.status;
    this.onSaved = options.onSaved;
    this.getWorkflowId = options.getWorkflowId;
    this.source = null;
    this.executionId = null;
  }

  say(text, tone) {
    this.status.textContent = text;
    this.status.dataset.tone = tone || "";
  }

  async start(inputText, fields) {
    let input = null;
    if (inputText.trim()) {
      try {
        input = JSON.parse(inputText);
      } catch (error) {
        this.say(`The test input is not JSON: ${error.message}`, "bad");
        return;
      }
    }
    this.say("Saving…");
    const saved = await save({ ...fields, workflow_id: this.getWorkflowId() });
    if (!saved.saved) {
      this.say(saved.error || `Not saved: ${saved.problems.length} problem(s), shown on the nodes.`, "bad");
      return saved;
    }
    this.onSaved(saved);
    this.say(`Saved version ${saved.version}; starting…`);
    const started = await run(saved.workflow_id, input);
    if (!started.started) {
      this.say(started.error, "bad");
      return saved;
    }
    this.watch(started.execution_id, saved.version);
    return saved;
  }

  watch(executionId, version) {
    if (this.source) this.source.close();
    this.executionId = executionId;
    this.canvas.setStatuses({});
    this.say(`Version ${version} running: execution ${executionId}`);
    this.source = new EventSource(`/console/executions/${encodeURIComponent(executionId)}/live`);
    this.source.addEventListener("state", (event) => {
      const state = JSON.parse(event.data);
      const statuses = {};
      for (const [id, node] of Object.entries(state.nodes)) statuses[id] = node.status;
      this.canvas.setStatuses(statuses);
      this.say(`Test run ${state.status.replace(/_/g, " ")}: execution ${executionId}`, state.terminal ? (state.status === "completed" ? "good" : "bad") : "");
    });
    this.source.addEventListener("end", () => {
      this.source.close();
      this.source = null;
    });
  }

  // The run's record of one node, as the execution page shows it (HTML from the console).
  async nodeDetail(nodeId) {
    if (!this.executionId) return null;
    const path = `/console/executions/${encodeURIComponent(this.executionId)}/nodes/${encodeURIComponent(nodeId)}`;
    const response = await fetch(path, { credentials: "same-origin" });
    return response.ok ? response.text() : null;
  }
}
