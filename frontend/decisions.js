// The designer's decision table page: dmn-js as a read-only viewer for a deployed version, or as the
// editor of the newest one; the server's check, then deployment with the processes that carry the
// table. Settings come from data-settings of #decisions; nothing inline (the CSP allows none).
import DmnModeler from "dmn-js/lib/Modeler";
import DmnViewer from "dmn-js/lib/Viewer";

import { $, post, say, settingsOf, translateModule, translator } from "./designer/page.js";

import "dmn-js/dist/assets/diagram-js.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-decision-table-controls.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-font/css/dmn.css";

const { root, data } = settingsOf("decisions");
const messages = (data && data.messages) || {};
const t = translator(messages);

// The views a table file is edited in: its decision tables and literal expressions (the
// requirements diagram is not drawn here: petiflow's files carry no diagram of it).
const TABLE_VIEWS = new Set(["decisionTable", "literalExpression"]);

class TableEditor {
  constructor(modeler, editing) {
    this.modeler = modeler;
    this.editing = editing;
    this.checked = false;
    this.watched = new WeakSet();
  }

  async open(view) {
    await this.modeler.open(view);
    this.renderTabs();
    this.watchActiveViewer();
  }

  tableViews() {
    return this.modeler.getViews().filter((view) => TABLE_VIEWS.has(view.type));
  }

  renderTabs() {
    const views = this.tableViews();
    const nav = $("decision-views");
    nav.replaceChildren();
    nav.hidden = views.length < 2;
    const active = this.modeler.getActiveView();
    for (const view of views) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tab";
      button.textContent = view.element.name || view.element.id;
      button.setAttribute("aria-pressed", String(active && active.element === view.element));
      button.addEventListener("click", () => this.open(view));
      nav.append(button);
    }
  }

  // A change in any view makes the last check stale: deploying needs a new one.
  watchActiveViewer() {
    if (!this.editing) return;
    const viewer = this.modeler.getActiveViewer();
    if (!viewer || this.watched.has(viewer)) return;
    this.watched.add(viewer);
    viewer.get("eventBus").on("commandStack.changed", () => {
      if (this.checked) say(t("The table was changed: check it again before deploying."));
      this.checked = false;
      $("deploy").disabled = true;
    });
  }

  async currentXml() {
    const { xml } = await this.modeler.saveXML({ format: true });
    return xml;
  }

  wire() {
    $("validate").addEventListener("click", () => this.validate());
    $("deploy").addEventListener("click", () => this.deploy());
  }

  async validate() {
    const { ok, json } = await post(data.validateUrl, { base_version: data.version, xml: await this.currentXml() });
    if (!ok) {
      this.checked = false;
      $("deploy").disabled = true;
      say(`${t("Deployment would refuse this table:")} ${json.message}`, "error");
      return;
    }
    const changed = json.processes.filter((p) => p.changed).map((p) => p.process_key);
    this.checked = changed.length > 0;
    $("deploy").disabled = !this.checked;
    say(this.checked ? t("Checked: deploying would make a new version of %(processes)s.",
      { processes: changed.join(", ") }) : t("Nothing changed."));
  }

  async deploy() {
    if (!this.checked) {
      say(t("Look at the check first."), "error");
      return;
    }
    $("deploy").disabled = true;
    const { ok, json } = await post(data.deployUrl, { base_version: data.version, xml: await this.currentXml() });
    if (!ok) {
      say(`${t("Not deployed:")} ${json.message}`, "error");
      $("deploy").disabled = false;
      return;
    }
    say(json.message);
    window.location.assign(json.location);
  }
}

async function start() {
  const editing = data.mode === "edit";
  const answer = await fetch(data.tableUrl, { credentials: "same-origin" });
  if (!answer.ok) {
    say(t("The decision table could not be loaded."), "error");
    return;
  }
  const Kind = editing ? DmnModeler : DmnViewer;
  // Each view gets the translations: dmn-js lets a view's own additionalModules replace common's.
  const translated = { additionalModules: [translateModule(messages)] };
  const modeler = new Kind({
    container: "#table", drd: translated, decisionTable: translated, literalExpression: translated,
  });
  const editor = new TableEditor(modeler, editing);
  try {
    await modeler.importXML(await answer.text(), { open: false });
    const views = editor.tableViews();
    if (!views.length) throw new Error("no decision table");
    await editor.open(views[0]);
  } catch (error) {
    say(`${t("The decision table could not be shown:")} ${error.message}`, "error");
    return;
  }
  root.classList.add("ready");
  if (editing) editor.wire();
}

if (root) {
  start();
}
