// A counterparty chosen by searching as one types (issue 20): the task form's counterparty, the calls
// page's and the SMS list's counterparty filters. Each fieldset.counterparty-choice
// (templates/_counterparty_picker.html) carries the search address and the words (data-*), translated by
// the server; results are built with textContent only. With data-submit, choosing or removing sends the
// form at once (a filter). Without this script the form keeps its counterparty.
// The search itself is window.pbxcrmCounterpartySearch, for lists that choose otherwise (sms_list.js).
(function () {
  "use strict";

  // Typing in `input` asks `find` (/api/counterparties/find); each match is an <li> in `results` made of
  // entry(item)'s elements, the first a button; no match says `none`. Enter clicks the first match's
  // button instead of sending the form. An older answer arriving late is dropped.
  function searchAsOneTypes(input, results, find, none, entry) {
    let timer = null;
    let asked = 0;

    function show(items) {
      results.replaceChildren();
      if (!items.length) {
        const li = document.createElement("li");
        li.className = "empty";
        li.textContent = none;
        results.append(li);
        return;
      }
      for (const item of items) {
        const li = document.createElement("li");
        li.append(...entry(item));
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
      fetch(find + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin", headers: { Accept: "application/json" },
      }).then((r) => r.json()).then((body) => {
        if (mine === asked) show(body.items || []);
      });
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        const first = results.querySelector("li > button");
        if (first) first.click();
      }
    });
  }

  window.pbxcrmCounterpartySearch = searchAsOneTypes;

  function picker(box) {
    const hidden = box.querySelector("input[type=hidden]");
    const chosen = box.querySelector(".chosen");
    const clear = box.querySelector("button.clear");
    const input = box.querySelector("input.find");
    const results = box.querySelector(".counterparty-results");
    box.querySelector("label.find").hidden = false;

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
      if (box.dataset.submit && box.form) box.form.requestSubmit();
    }

    searchAsOneTypes(input, results, box.dataset.find, box.dataset.none, (item) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choose";
      button.dataset.id = String(item.id);
      button.textContent = item.name;
      button.addEventListener("click", () => choose(item));
      const kind = document.createElement("small");
      kind.textContent = " " + (box.dataset[item.kind] || item.kind) + (item.remark ? " · " + item.remark : "");
      return [button, kind];
    });
    clear.addEventListener("click", () => choose(null));
  }

  document.querySelectorAll("fieldset.counterparty-choice[data-find]").forEach(picker);
})();
