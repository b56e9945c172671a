// The SMS list (issue 21): attaching a message from an unknown number to a card. Typing in a row's
// search box asks /api/counterparties/find (the table's data-find) and lists the matches as the
// attach form's submit buttons, each carrying its counterparty_id: choosing one sends the form.
// Built with textContent only.
(function () {
  "use strict";
  const table = document.getElementById("sms");
  if (!table) return;
  const find = table.dataset.find;

  function results(form, items) {
    const list = form.querySelector(".sms-attach-results");
    list.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = table.dataset.none;
      list.append(li);
    }
    for (const item of items) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "submit";
      button.name = "counterparty_id";
      button.value = String(item.id);
      button.textContent = item.name + (item.remark ? " · " + item.remark : "");
      li.append(button);
      list.append(li);
    }
  }

  for (const form of table.querySelectorAll("form.sms-attach-existing")) {
    const input = form.querySelector(".sms-attach-find");
    let timer = null;
    let latest = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const q = input.value.trim();
        const asked = ++latest;
        if (q.length < 2) {
          form.querySelector(".sms-attach-results").replaceChildren();
          return;
        }
        fetch(find + "?q=" + encodeURIComponent(q), {
          credentials: "same-origin", headers: { Accept: "application/json" },
        }).then((r) => r.json()).then((body) => {
          if (asked === latest) results(form, body.items || []);
        });
      }, 250);
    });
    // Enter in the search box would send the form with no card chosen: it takes the first match instead.
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const first = form.querySelector(".sms-attach-results button");
      if (first) first.click();
    });
  }
})();
