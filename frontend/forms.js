// Task forms: a field the schema needs only for some choice (the reply text for "submit the reply",
// the extension's days for "ask for an extension") is shown only while that choice is made. Without
// JavaScript every field is shown, and the server says which are missing.
function toggle(form) {
  for (const box of form.querySelectorAll("[data-needed-when]")) {
    const [choice, values] = box.dataset.neededWhen.split("=");
    const chosen = form.elements[choice]?.value ?? "";
    const needed = values.split(" ").includes(chosen);
    // A field with an error stays in sight, whatever is chosen.
    box.hidden = !needed && !box.classList.contains("invalid");
  }
}

window.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form.task-form")) {
    toggle(form);
    form.addEventListener("change", () => toggle(form));
  }
});
