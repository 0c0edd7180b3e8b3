// The source tab and the canvas kept in step: a change on the canvas rewrites the text
// (JSON stays JSON; YAML is written again as YAML, without the comments the text had),
// and text typed in the source tab is read back into the canvas when it parses.

import { documentToText, textToDocument } from "./server.js";

function looksLikeJson(text) {
  return /^\s*[{[]/.test(text);
}

export class SourceSync {
  constructor(textarea, model, options) {
    this.textarea = textarea;
    this.model = model;
    this.onProblem = options.onProblem || (() => {});
    this.format = looksLikeJson(textarea.value) || !textarea.value.trim() ? "json" : "yaml";
    this.writing = 0;
    this.pending = null;  // the write under way, if any
    this.scheduled = null;  // the timer of a write to come, if any
    this.timer = null;
    textarea.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.read(), 400);
    });
  }

  // The text's document, or null (with the reason shown) when it does not parse.
  async parse(text) {
    if (!text.trim()) return { nodes: [], edges: [] };
    if (looksLikeJson(text)) {
      try {
        this.format = "json";
        return JSON.parse(text);
      } catch (error) {
        this.onProblem(`The source is not valid JSON yet: ${error.message}`);
        return null;
      }
    }
    const answer = await textToDocument(text);
    if (answer.error) {
      this.onProblem(`The source cannot be read: ${answer.error}`);
      return null;
    }
    this.format = answer.format;
    return answer.document;
  }

  async read() {
    const document = await this.parse(this.textarea.value);
    if (document === null) return;
    this.onProblem(null);
    this.model.replace(document, "source");
  }

  // Write the model into the text (called after every change made outside the text).
  write() {
    const ticket = ++this.writing;
    this.pending = (async () => {
      const text = this.format === "yaml"
        ? (await documentToText(this.model.doc, "yaml")).text
        : JSON.stringify(this.model.doc, null, 2);
      if (ticket === this.writing) this.textarea.value = text;  // a later write wins
    })();
    return this.pending;
  }

  // Write soon: a burst of changes (typing in a node's form) is written once, not per key
  // (a YAML text is written by the server).
  schedule() {
    clearTimeout(this.scheduled);
    this.scheduled = setTimeout(() => {
      this.scheduled = null;
      this.write();
    }, 250);
  }

  // Resolves once the text holds every change made so far (at once when it does).
  settled() {
    if (this.scheduled) {
      clearTimeout(this.scheduled);
      this.scheduled = null;
      return this.write();
    }
    return this.pending || Promise.resolve();
  }
}
