/* Drafting an article in the workspace: live preview, reference order, unsaved-changes guard.
   Everything here is a convenience: without JavaScript the form still saves and validates. */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const form = document.getElementById("article_form");
  if (!form) return;
  const marker = document.getElementById("preview-url");
  const previewUrl = marker ? marker.dataset.url : null;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]");

  /* Live preview, rendered by the server with the public page's renderer and sanitiser. */
  function attachPreview(fieldName, heading) {
    const textarea = form.querySelector("#id_" + fieldName);
    if (!textarea || !previewUrl) return;
    const pane = document.createElement("div");
    pane.className = "live-preview article-preview";
    pane.setAttribute("aria-live", "polite");
    pane.innerHTML = "<p class='preview-label'>" + heading + " — preview</p><div class='preview-body'></div>";
    textarea.closest(".form-row").appendChild(pane);
    const body = pane.querySelector(".preview-body");
    let timer = null;
    let last = null;
    async function refresh() {
      if (textarea.value === last) return;
      last = textarea.value;
      const data = new FormData();
      data.append("text", textarea.value);
      try {
        const response = await fetch(previewUrl, {
          method: "POST", body: data, credentials: "same-origin",
          headers: { "X-CSRFToken": csrf ? csrf.value : "" },
        });
        if (response.ok) body.innerHTML = (await response.json()).html;  // sanitised by nh3 on the server
      } catch (error) { /* offline: the preview waits for the next keystroke */ }
    }
    textarea.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 350); });
    refresh();
  }
  attachPreview("body", "For clinicians");
  attachPreview("patient_body", "For patients");

  /* References: move up and down; the numbers follow the order, as the [n] markers do. */
  const group = document.getElementById("references-group");
  function rows() {
    return Array.from(group.querySelectorAll("tbody tr.form-row")).filter(
      (row) => !row.classList.contains("empty-form") && row.querySelector("input[name$='-position']")
    );
  }
  function renumber() {
    rows().forEach(function (row, index) {
      row.querySelector("input[name$='-position']").value = index + 1;
      const badge = row.querySelector(".ref-number");
      if (badge) badge.textContent = "[" + (index + 1) + "]";
    });
  }
  function decorate(row) {
    const cell = row.querySelector("td.field-position");
    if (!cell || cell.querySelector(".ref-move")) return;
      const badge = document.createElement("span");
      badge.className = "ref-number";
      cell.prepend(badge);
      ["up", "down"].forEach(function (direction) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "ref-move ref-" + direction;
        button.textContent = direction === "up" ? "↑" : "↓";
        button.setAttribute("aria-label", "Move this reference " + direction);
        button.addEventListener("click", function () {
          const sibling = direction === "up" ? row.previousElementSibling : row.nextElementSibling;
          if (!sibling || !sibling.querySelector("input[name$='-position']")) return;
          if (direction === "up") sibling.before(row); else sibling.after(row);
          renumber();
          dirty = true;
        });
        cell.appendChild(button);
      });
  }
  if (group) {
    rows().forEach(decorate);
    renumber();
    document.addEventListener("formset:added", function (event) {
      if (event.detail && event.detail.formsetName === "references") {
        decorate(event.target);
        renumber();
      }
    });
  }

  /* Leaving with unsaved changes asks first. */
  let dirty = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
});
