// The task form's counterparty (issue 20): search as you type, choose, change or remove.
// The fieldset #task-counterparty carries the search address and the words (data-*), translated by the
// server; results are built with textContent only. Without this script the form keeps its counterparty.
(function () {
  "use strict";
  const box = document.getElementById("task-counterparty");
  if (!box) return;
  const hidden = box.querySelector("input[name=counterparty_id]");
  const chosen = document.getElementById("counterparty-chosen");
  const clear = document.getElementById("counterparty-clear");
  const input = document.getElementById("counterparty-find");
  const results = document.getElementById("counterparty-results");
  document.getElementById("counterparty-find-label").hidden = false;
  let timer = null;
  let asked = 0;

  function choose(item) {
    hidden.value = item ? String(item.id) : "";
    chosen.replaceChildren();
    if (item) {
      const link = document.createElement("a");
      link.href = "/counterparties/" + item.id;
      link.textContent = item.name;
      chosen.append(link);
    } else {
      chosen.textContent = box.dataset.nobody;
    }
    clear.hidden = !item;
    results.replaceChildren();
    input.value = "";
  }

  function show(items) {
    results.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = box.dataset.none;
      results.append(li);
      return;
    }
    for (const item of items) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choose";
      button.dataset.id = String(item.id);
      button.textContent = item.name;
      button.addEventListener("click", () => choose(item));
      const kind = document.createElement("small");
      kind.textContent = " " + (box.dataset[item.kind] || item.kind) + (item.remark ? " · " + item.remark : "");
      li.append(button, kind);
      results.append(li);
    }
  }

  function search() {
    const q = input.value.trim();
    const mine = ++asked;
    if (q.length < 2) {
      results.replaceChildren();
      return;
    }
    fetch(box.dataset.find + "?q=" + encodeURIComponent(q), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then((r) => r.json()).then((body) => {
      if (mine === asked) show(body.items || []);  // an older answer arriving late is dropped
    });
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {  // Enter chooses the first match instead of sending the form
      e.preventDefault();
      const first = results.querySelector("button.choose");
      if (first) first.click();
    }
  });
  clear.addEventListener("click", () => choose(null));
})();
