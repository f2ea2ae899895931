// The 1999 console: the routing of the case a call would open, shown as the operator chooses the
// outcome, category and district (without JavaScript, the "Show the routing" button does it).
const WATCHED = ["call_outcome", "case_category", "case_district"];

window.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("call-form");
  const shown = document.getElementById("routing");
  if (!form || !shown) return;
  document.body.classList.add("js");
  const waiting = shown.innerHTML;
  let asked = 0;  // answers can come back out of order: only the latest question's is shown
  async function update() {
    const mine = ++asked;
    const query = new URLSearchParams(WATCHED.map((name) => [name, form.elements[name]?.value || ""]));
    try {
      const answer = await fetch(`${form.dataset.routing}?${query}`, { credentials: "same-origin" });
      const found = answer.ok ? await answer.json() : { found: false };
      if (mine !== asked) return;
      if (!found.found) {
        shown.innerHTML = waiting;
        return;
      }
      shown.textContent = found.unit ? `${found.agency} · ${found.unit}` : found.agency;
      if (!found.trusted) {
        const mark = document.createElement("span");
        mark.className = "due at_risk";
        mark.textContent = ` ${form.dataset.untrusted || "?"}`;
        shown.append(" ", mark);
      }
    } catch (error) {
      if (mine === asked) shown.innerHTML = waiting;
    }
  }
  for (const name of WATCHED) form.elements[name]?.addEventListener("change", update);
  update();
});
