// Forms that start long work (checks, preview, execute, backup) say so while the server works:
// <form data-busy="Reading the target tenant…"> disables its submit button (no double submit)
// and shows the message in a live region next to it.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.busy || event.defaultPrevented) return;
  const button = event.submitter || form.querySelector("button[type=submit]");
  if (button) {
    // Disable after the browser has taken the button's value into the submission.
    setTimeout(() => { button.disabled = true; }, 0);
  }
  form.setAttribute("aria-busy", "true");
  let status = form.querySelector(".tg-busy");
  if (!status) {
    status = document.createElement("span");
    status.className = "tg-busy";
    status.setAttribute("role", "status");
    form.appendChild(status);
  }
  status.textContent = form.dataset.busy;
});

// <input data-select-on-focus> selects its whole value on focus (the one-time API token), so it
// copies in one go. A listener here, not an onfocus attribute: the Content-Security-Policy runs
// no inline script.
document.addEventListener("focusin", (event) => {
  const field = event.target;
  if (field instanceof HTMLInputElement && field.hasAttribute("data-select-on-focus")) {
    field.select();
  }
});

// Step 3's mapping: <input data-select-all="group"> ticks or clears every entry of that kind
// (the entries' checkboxes belong to the kind's bulk form). Hidden without JavaScript, where
// entries are ticked one by one.
function showSelectAll(root) {
  root.querySelectorAll("[data-select-all-label]").forEach((label) => { label.hidden = false; });
}
document.addEventListener("DOMContentLoaded", () => showSelectAll(document));
document.addEventListener("htmx:afterSettle", (event) => showSelectAll(event.target.ownerDocument || document));
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  const kind = box.dataset.selectAll;
  document.querySelectorAll(`input[name="entry"][data-entry-kind="${CSS.escape(kind)}"]`).forEach((entry) => {
    entry.checked = box.checked;
  });
});
