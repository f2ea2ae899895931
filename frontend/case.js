// The case page's diagram: the BPMN of the process version the case runs, drawn by bpmn-js's
// viewer (pan with the mouse, zoom with the wheel), the tasks open now and those done marked.
// Without JavaScript the page still lists the open work and the timeline.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "./case.css";

async function show(container) {
  const status = container.querySelector(".diagram-status");
  const canvasBox = container.querySelector(".diagram-canvas");
  try {
    const answer = await fetch(container.dataset.src, { credentials: "same-origin" });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    const found = await answer.json();
    const viewer = new NavigatedViewer({ container: canvasBox });
    await viewer.importXML(found.xml);
    const canvas = viewer.get("canvas");
    const registry = viewer.get("elementRegistry");
    for (const id of found.done) if (registry.get(id)) canvas.addMarker(id, "pf-done");
    for (const id of found.open) if (registry.get(id)) canvas.addMarker(id, "pf-open");
    canvas.zoom("fit-viewport");
    const first = found.open.map((id) => registry.get(id)).find(Boolean);
    if (first && canvas.zoom() < 0.8) {
      canvas.zoom(0.8);  // readable, around the task the case waits on
      canvas.scrollToElement(first);
    }
    container.dataset.ready = "true";
    status.textContent = container.dataset.readyText;
  } catch (error) {
    status.textContent = `${container.dataset.failedText} (${error.message})`;
    container.dataset.ready = "failed";
  }
}

window.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("case-diagram");
  if (container) show(container);
});
