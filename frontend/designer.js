// The process designer's diagram page: bpmn-js as a read-only viewer for a deployed version, or as
// the modeler for the latest one, with petiflow's properties panel (designer/properties.js), lint
// rules (designer/lint.js), the server's checks shown on the element they name, the changes against
// the deployed version (bpmn-js-differ) and deployment as the next version.
//
// Everything the page needs comes from data- attributes of #designer and the CSRF token from
// <meta name="csrf-token">: the content security policy allows no inline script.
import BpmnModeler from "bpmn-js/lib/Modeler";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";
import lintModule from "bpmn-js-bpmnlint";
import { diff } from "bpmn-js-differ";

import spiffworkflow from "./designer/spiffworkflow.json";
import { lintConfig } from "./designer/lint.js";
import { PetiflowPropertiesModule } from "./designer/properties.js";
import { $, post, say, settingsOf, translateModule as translations, translator } from "./designer/page.js";

import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";
import "bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css";

const { root, data } = settingsOf("designer");
const messages = (data && data.messages) || {};
const t = translator(messages);

function elementName(registry, id) {
  const element = registry.get(id);
  const bo = element && element.businessObject;
  return bo && bo.name ? `${bo.name} (${id})` : id;
}

async function start() {
  const editing = data.mode === "edit";
  const answer = await fetch(data.diagramUrl, { credentials: "same-origin" });
  if (!answer.ok) {
    say(t("The diagram could not be loaded."), "error");
    return;
  }
  const deployedXml = await answer.text();
  const options = {
    container: "#canvas",
    moddleExtensions: { spiffworkflow },
  };
  const translateModule = translations(messages);
  const modeler = editing
    ? new BpmnModeler({
      ...options,
      propertiesPanel: { parent: "#properties" },
      linting: { bpmnlint: lintConfig({ ...data, messages }), active: true },
      petiflow: data,
      additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, PetiflowPropertiesModule,
        lintModule, translateModule],
    })
    : new NavigatedViewer({ ...options, additionalModules: [translateModule] });
  try {
    await modeler.importXML(deployedXml);
  } catch (error) {
    say(`${t("The diagram could not be shown:")} ${error.message}`, "error");
    return;
  }
  const canvas = modeler.get("canvas");
  canvas.zoom("fit-viewport");
  root.classList.add("ready");
  if (!editing) return;
  new Designer(modeler, deployedXml).wire();
}

class Designer {
  constructor(modeler, deployedXml) {
    this.modeler = modeler;
    this.deployedXml = deployedXml;
    this.registry = modeler.get("elementRegistry");
    this.canvas = modeler.get("canvas");
    this.overlays = modeler.get("overlays");
    this.lintIssues = {};
    this.serverError = null;
    this.reviewed = false;
    this.changeMarkers = [];
  }

  wire() {
    const eventBus = this.modeler.get("eventBus");
    eventBus.on("linting.completed", ({ issues }) => {
      this.lintIssues = issues || {};
      this.renderProblems();
    });
    eventBus.on("commandStack.changed", () => {
      this.reviewed = false;
      $("deploy").disabled = true;
      this.clearServerError();
      this.clearChanges();
      $("changes").hidden = true;
    });
    $("validate").addEventListener("click", () => this.validate());
    $("show-changes").addEventListener("click", () => this.showChanges());
    $("deploy").addEventListener("click", () => this.deploy());
    $("problems").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-element]");
      if (button) this.focusElement(button.dataset.element);
    });
    $("changes-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-element]");
      if (button) this.focusElement(button.dataset.element);
    });
    this.renderProblems();
  }

  focusElement(id) {
    const element = this.registry.get(id);
    if (!element) return;
    this.modeler.get("selection").select(element);
    this.canvas.scrollToElement(element);
    const panel = $("properties");
    if (panel) panel.focus({ preventScroll: false });
  }

  lintErrorCount() {
    return Object.values(this.lintIssues).flat().filter((i) => i.category === "error").length;
  }

  renderProblems() {
    const list = $("problems");
    list.replaceChildren();
    const rows = [];
    if (this.serverError) {
      rows.push({ id: this.serverError.elementId, kind: "server", text: this.serverError.message });
    }
    for (const [id, issues] of Object.entries(this.lintIssues)) {
      for (const issue of issues) {
        rows.push({ id, kind: issue.category === "error" ? "error" : "warning", text: t(issue.message) });
      }
    }
    for (const row of rows) {
      const item = document.createElement("li");
      item.className = `problem ${row.kind}`;
      const label = { server: t("Server check"), error: t("Error"), warning: t("Warning") }[row.kind];
      if (row.id && this.registry.get(row.id)) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.dataset.element = row.id;
        button.textContent = elementName(this.registry, row.id);
        item.append(`${label}: `, button, ` — ${row.text}`);
      } else {
        item.append(`${label}: ${row.id ? `${row.id} — ` : ""}${row.text}`);
      }
      list.append(item);
    }
    $("problems-none").hidden = rows.length > 0;
    $("problems-count").textContent = t("%(n)d errors, %(w)d warnings", {
      n: rows.filter((r) => r.kind !== "warning").length, w: rows.filter((r) => r.kind === "warning").length,
    });
  }

  clearServerError() {
    if (!this.serverError) return;
    const { elementId, overlay } = this.serverError;
    if (elementId && this.registry.get(elementId)) this.canvas.removeMarker(elementId, "petiflow-server-error");
    if (overlay) this.overlays.remove(overlay);
    this.serverError = null;
    this.renderProblems();
  }

  showServerError(error) {
    this.clearServerError();
    const details = error.errors || {};
    const elementId = details.element_id || null;
    const message = error.message || t("The diagram was refused.");
    let overlay = null;
    if (elementId && this.registry.get(elementId)) {
      this.canvas.addMarker(elementId, "petiflow-server-error");
      const badge = document.createElement("div");
      badge.className = "petiflow-server-badge";
      badge.textContent = "!";
      badge.title = message;
      overlay = this.overlays.add(elementId, "petiflow", { position: { top: -12, right: 12 }, html: badge });
      this.modeler.get("selection").select(this.registry.get(elementId));
      this.canvas.scrollToElement(this.registry.get(elementId));
    }
    this.serverError = { elementId, message, overlay };
    this.renderProblems();
  }

  async currentXml() {
    const { xml } = await this.modeler.saveXML({ format: true });
    return xml;
  }

  async validate() {
    const xml = await this.currentXml();
    const { ok, json } = await post(data.validateUrl, { base_version: data.version, xml });
    if (ok) {
      this.clearServerError();
      say(json.message);
      return true;
    }
    this.showServerError(json);
    say(`${t("Deployment would refuse this diagram:")} ${json.message}`, "error");
    return false;
  }

  clearChanges() {
    for (const [id, marker] of this.changeMarkers) {
      if (this.registry.get(id)) this.canvas.removeMarker(id, marker);
    }
    this.changeMarkers = [];
  }

  async showChanges() {
    const moddle = this.modeler.get("moddle");
    const { rootElement: before } = await moddle.fromXML(this.deployedXml, "bpmn:Definitions");
    const after = this.modeler.getDefinitions();
    const changes = diff(before, after);
    this.clearChanges();
    const list = $("changes-list");
    list.replaceChildren();
    const add = (kind, id, element, detail) => {
      const item = document.createElement("li");
      item.className = `change ${kind}`;
      const label = { added: t("Added"), removed: t("Removed"), changed: t("Changed"), layout: t("Moved") }[kind];
      const name = element && element.name ? `${element.name} (${id})` : id;
      if (kind !== "removed" && this.registry.get(id)) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.dataset.element = id;
        button.textContent = name;
        item.append(`${label}: `, button);
        const marker = `petiflow-diff-${kind}`;
        this.canvas.addMarker(id, marker);
        this.changeMarkers.push([id, marker]);
      } else {
        item.append(`${label}: ${name}`);
      }
      if (detail) item.append(` — ${detail}`);
      list.append(item);
    };
    const typeOf = (el) => (el && el.$type ? el.$type.replace("bpmn:", "") : "");
    for (const [id, el] of Object.entries(changes._added)) add("added", id, el, typeOf(el));
    for (const [id, el] of Object.entries(changes._removed)) add("removed", id, el, typeOf(el));
    for (const [id, change] of Object.entries(changes._changed)) {
      add("changed", id, change.model, Object.keys(change.attrs || {}).join(", "));
    }
    const moved = Object.keys(changes._layoutChanged).filter((id) => !(id in changes._added) && !(id in changes._changed));
    if (moved.length) {
      const item = document.createElement("li");
      item.className = "change layout";
      item.textContent = t("%(n)d elements moved or resized", { n: moved.length });
      list.append(item);
    }
    const semantic = Object.keys(changes._added).length + Object.keys(changes._removed).length
      + Object.keys(changes._changed).length;
    $("changes-none").hidden = semantic + moved.length > 0;
    $("changes").hidden = false;
    $("changes-heading").focus();
    this.reviewed = semantic + moved.length > 0;
    $("deploy").disabled = !this.reviewed;
  }

  async deploy() {
    if (!this.reviewed) {
      say(t("Look at the changes first."), "error");
      return;
    }
    if (this.lintErrorCount()) {
      say(t("Fix the errors in the list of problems first."), "error");
      return;
    }
    $("deploy").disabled = true;
    const xml = await this.currentXml();
    const { ok, json } = await post(data.deployUrl, { base_version: data.version, xml });
    if (!ok) {
      this.showServerError(json);
      say(`${t("Not deployed:")} ${json.message}`, "error");
      $("deploy").disabled = false;
      return;
    }
    say(json.message);
    window.location.assign(json.location);
  }
}

if (root) {
  start();
}
