// Schedule form: the next five fire times of the cron and time zone being typed, asked of
// the console (GET /console/schedules/preview) so an author sees what an expression means
// before saving it. Plain JavaScript, no build step. Without it the form's Preview button
// shows the same times after a round trip.
"use strict";

(function () {
  // Wait for a pause in typing rather than asking on every key.
  const PAUSE_MS = 250;
  const FIELDS = ["cron", "timezone"];

  function fireTimeItem(time) {
    const item = document.createElement("li");
    const stamp = document.createElement("time");
    stamp.dateTime = time.iso;
    stamp.textContent = time.text;
    item.append(stamp);
    return item;
  }

  function problemItem(field, text) {
    const item = document.createElement("li");
    item.className = "field-error";
    item.dataset.field = field;
    item.textContent = text;
    return item;
  }

  // The field's own error line says the same as the panel, so a screen reader user who
  // moves back to the field hears why it is wrong; a fixed field loses its stale message.
  function markField(form, field, problem) {
    const input = form.querySelector(`[name="${field}"]`);
    const line = document.getElementById(`${field}-error`);
    if (!input || !line) return;
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      line.textContent = problem;
      line.hidden = false;
    } else {
      input.removeAttribute("aria-invalid");
      line.textContent = "";
      line.hidden = true;
    }
    line.removeAttribute("role");
  }

  function show(panel, form, answer) {
    const times = panel.querySelector("[data-fire-times]");
    const problems = panel.querySelector("[data-fire-problems]");
    const zone = panel.querySelector("[data-fire-zone]");
    const found = answer.problems || {};
    const listed = answer.times || [];
    times.replaceChildren(...listed.map(fireTimeItem));
    times.hidden = listed.length === 0;
    problems.replaceChildren(...Object.entries(found).map(([field, text]) => problemItem(field, text)));
    problems.hidden = Object.keys(found).length === 0;
    if (zone && answer.timezone) zone.textContent = answer.timezone;
    for (const field of FIELDS) markField(form, field, found[field]);
    panel.dataset.state = problems.hidden ? "ok" : "problem";
  }

  function wire(form, panel) {
    const url = panel.dataset.previewUrl;
    const inputs = FIELDS.map((name) => form.querySelector(`[name="${name}"]`)).filter(Boolean);
    let timer = 0;
    let pending = null;

    async function ask() {
      // Only the answer to the latest question is shown: an older, slower one is dropped.
      pending?.abort();
      pending = new AbortController();
      const query = new URLSearchParams();
      for (const input of inputs) query.set(input.name, input.value);
      panel.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(`${url}?${query}`, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          signal: pending.signal,
        });
        // Signed out meanwhile, the console answers with the sign-in page: keep what is shown.
        if (!(response.headers.get("content-type") || "").includes("application/json")) return;
        show(panel, form, await response.json());
      } catch (error) {
        if (error.name !== "AbortError") panel.dataset.state = "unreachable";
      } finally {
        panel.removeAttribute("aria-busy");
      }
    }

    for (const input of inputs) {
      input.addEventListener("input", () => {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, PAUSE_MS);
      });
    }
    // The times follow the fields by themselves now; the button stays for a full check.
    const hint = panel.querySelector("[data-preview-hint]");
    if (hint) hint.textContent = "The times follow the cron and time zone as you type.";
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.querySelector("[data-schedule-form]");
    const panel = document.querySelector("[data-fire-preview]");
    if (form && panel && panel.dataset.previewUrl) wire(form, panel);
  });
})();
