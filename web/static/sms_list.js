// The SMS list (issue 21): attaching a message from an unknown number to a card. Typing in a row's
// search box lists the matches (the search as one types of counterparty_picker.js, loaded before this)
// as the attach form's submit buttons, each carrying its counterparty_id: choosing one, or Enter for
// the first, sends the form. Built with textContent only.
(function () {
  "use strict";
  const table = document.getElementById("sms");
  const search = window.pbxcrmCounterpartySearch;
  if (!table || !search) return;

  function entry(item) {
    const button = document.createElement("button");
    button.type = "submit";
    button.name = "counterparty_id";
    button.value = String(item.id);
    button.textContent = item.name + (item.remark ? " · " + item.remark : "");
    return [button];
  }

  for (const form of table.querySelectorAll("form.sms-attach-existing")) {
    search(form.querySelector(".sms-attach-find"), form.querySelector(".sms-attach-results"),
           table.dataset.find, table.dataset.none, entry);
  }
})();
