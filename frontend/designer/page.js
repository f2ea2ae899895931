// What the designer's pages share: their settings and words from the page, the status line, and
// JSON calls carrying the session's CSRF token (from <meta name="csrf-token">; the content
// security policy allows no inline script).

export function $(id) {
  return document.getElementById(id);
}

// The page's settings (data-settings of the element with this id), or null when it is not on the page.
export function settingsOf(id) {
  const root = $(id);
  return root ? { root, data: JSON.parse(root.dataset.settings) } : { root: null, data: null };
}

// A translator over the page's catalog: t("%(n)d rows", { n: 2 }).
export function translator(messages = {}) {
  return (text, values = {}) => (messages[text] || text).replace(/%\((\w+)\)[sd]/g, (_, k) => String(values[k]));
}

// The diagram libraries' translate service, answering with the page's catalog where it has the text.
export function translateModule(messages = {}) {
  return {
    translate: ["value", (template, replacements = {}) =>
      (messages[template] || template).replace(/{([^}]+)}/g, (_, key) => replacements[key] || `{${key}}`)],
  };
}

export function say(text, kind = "status") {
  const status = $("designer-status");
  status.textContent = text;
  status.className = `flash ${kind === "error" ? "error" : "done"}`;
  status.hidden = false;
}

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export async function post(url, body) {
  const answer = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
    body: JSON.stringify(body),
  });
  let json = {};
  try {
    json = await answer.json();
  } catch (_e) {
    json = { message: `${answer.status} ${answer.statusText}` };
  }
  return { ok: answer.ok, status: answer.status, json };
}
