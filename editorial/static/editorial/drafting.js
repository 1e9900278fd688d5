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
          refreshChecks();
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

  /* Checks, live: the citation gate, what saving would refuse, the references' records and the
     safety lints, computed by the server from the form as it is (nothing is saved). */
  const panel = document.getElementById("content-checks");
  let refreshChecks = function () {};
  if (panel && panel.dataset.url) {
    const texts = form.querySelector("fieldset.text-columns");
    if (texts) texts.after(panel);
    const body = panel.querySelector(".checks-body");
    let checkTimer = null;
    let lastSent = null;
    function element(tag, className, text) {
      const node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }
    function section(className, heading, items) {
      const box = element("div", "checks-group " + className);
      box.appendChild(element("h3", "", heading));
      const list = element("ul");
      items.forEach(function (item) { list.appendChild(item); });
      box.appendChild(list);
      return box;
    }
    function render(data) {
      body.replaceChildren();
      panel.classList.toggle("checks-blocking", data.blocks_submission || data.refused_on_save.length > 0);
      const problems = data.citations.problems.map(function (text) { return element("li", "", text); });
      if (problems.length) body.appendChild(section("checks-gate", "Blocks submission: citations", problems));
      const refused = data.refused_on_save.map(function (text) { return element("li", "", text); });
      if (refused.length) body.appendChild(section("checks-refused", "Will be refused when saved", refused));
      const sources = data.sources.map(function (note) { return element("li", "source-" + note.kind, note.message); })
        .concat(data.citations.warnings.map(function (text) { return element("li", "source-duplicate", text); }));
      if (sources.length) body.appendChild(section("checks-sources", "References", sources));
      const lints = data.lints.map(function (finding) {
        const item = element("li", "lint lint-" + finding.code);
        item.appendChild(element("strong", "", finding.title));
        item.appendChild(element("span", "lint-field", " (" + ({body: "text for clinicians", patient_body: "text for patients", page: "public page"}[finding.field] || finding.field) + ")"));
        item.appendChild(document.createTextNode(": " + finding.message + " "));
        if (finding.excerpt) item.appendChild(element("q", "lint-excerpt", finding.excerpt));
        return item;
      });
      if (lints.length) {
        body.appendChild(section("checks-lints",
          "Safety checks (" + lints.length + "): warnings, for the author and the board to weigh", lints));
      }
      if (!body.children.length) {
        body.appendChild(element("p", "checks-clear",
          "Nothing to report: every [n] matches a reference, every reference is cited, and the safety checks found nothing."));
      }
    }
    refreshChecks = async function () {
      const data = new FormData(form);
      const signature = new URLSearchParams(data).toString();
      if (signature === lastSent) return;
      lastSent = signature;
      try {
        const response = await fetch(panel.dataset.url, {
          method: "POST", body: data, credentials: "same-origin",
          headers: { "X-CSRFToken": csrf ? csrf.value : "" },
        });
        if (response.ok) render(await response.json());
      } catch (error) { /* offline: the panel waits for the next change */ }
    };
    function later() { clearTimeout(checkTimer); checkTimer = setTimeout(refreshChecks, 500); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    document.addEventListener("formset:added", later);
    document.addEventListener("formset:removed", later);
    refreshChecks();
  }

  /* Look up: fill a reference from its DOI (Crossref) or PMID (PubMed). Fields the author typed
     are kept; where they differ from the record, the row says so. */
  const lookupMarker = document.getElementById("lookup-url");
  const lookupUrl = lookupMarker ? lookupMarker.dataset.url : null;
  function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }
  function attachLookup(row) {
    const button = row.querySelector(".ref-lookup");
    if (!button || !lookupUrl || button.dataset.ready) return;
    button.dataset.ready = "1";
    button.hidden = false;
    const result = row.querySelector(".ref-lookup-result");
    button.addEventListener("click", async function () {
      const data = new FormData();
      ["doi", "pmid", "authors", "title", "source", "year"].forEach(function (name) {
        const input = field(row, name);
        data.append(name, input ? input.value : "");
      });
      result.textContent = "Looking up…";
      result.className = "ref-lookup-result";
      try {
        const response = await fetch(lookupUrl, {
          method: "POST", body: data, credentials: "same-origin",
          headers: { "X-CSRFToken": csrf ? csrf.value : "" },
        });
        const answer = await response.json();
        if (!response.ok) {
          result.textContent = answer.detail || "The look-up failed.";
          result.classList.add("lookup-error");
          return;
        }
        if (!answer.found) {
          result.textContent = answer.message;
          result.classList.add("lookup-error");
          return;
        }
        const filled = [];
        Object.entries(answer.fields).forEach(function ([name, value]) {
          const input = field(row, name);
          if (input && !input.value.trim()) { input.value = value; filled.push(name); }
        });
        const lines = ["Found in " + answer.service + (filled.length ? "; filled: " + filled.join(", ") + "." : ".")]
          .concat(answer.updates.map(function (text) { return "⚠ " + text; }))
          .concat(answer.disagreements);
        result.textContent = lines.join(" ");
        result.classList.add(answer.disagreements.length || answer.updates.length ? "lookup-flag" : "lookup-ok");
        dirty = true;
        refreshChecks();
      } catch (error) {
        result.textContent = "The look-up could not be made (offline?).";
        result.classList.add("lookup-error");
      }
    });
  }
  if (group) {
    rows().forEach(attachLookup);
    document.addEventListener("formset:added", function (event) {
      if (event.detail && event.detail.formsetName === "references") attachLookup(event.target);
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
