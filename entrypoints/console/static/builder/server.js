// The builder's calls to the console (JSON over fetch, with the console's cookie; the
// server checks the request comes from this site).

async function post(path, body) {
  const response = await fetch(`/console/builder${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const answered = await response.json();
      message = (answered.error && answered.error.message) || answered.detail || message;
    } catch (error) {
      // not JSON: the status says enough
    }
    throw new Error(message);
  }
  return response.json();
}

export const validate = (name, document) => post("/validate", { name, document });
export const layout = (document) => post("/layout", { document });
export const textToDocument = (text) => post("/convert", { text });
export const documentToText = (document, format) => post("/convert", { document, format });
export const save = (fields) => post("/save", fields);
export const run = (workflowId, input) => post(`/${encodeURIComponent(workflowId)}/run`, { input });
