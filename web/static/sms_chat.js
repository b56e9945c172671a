// The card's SMS chat (issue 21): a live count of the text's characters and parts while it is typed
// (the rule of crm/sms/model.py split), the messages redrawn from /counterparties/{id}/sms/events each
// time one changes or arrives, and incoming ones marked read while the chat is open and seen.
(function () {
  "use strict";
  const chat = document.getElementById("sms");
  if (!chat) return;
  const csrf = document.querySelector("meta[name=csrf-token]").content;

  // GSM 03.38: the basic set, and the extension table whose characters take two septets.
  const BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const EXTENSION = "^{}\\[~]|€\f";

  function split(text) {
    const chars = Array.from(text);
    const gsm = chars.every((c) => BASIC.includes(c) || EXTENSION.includes(c));
    const units = gsm ? chars.reduce((n, c) => n + (EXTENSION.includes(c) ? 2 : 1), 0) : text.length;
    const [single, multi] = gsm ? [160, 153] : [70, 67];
    return { encoding: gsm ? "GSM-7" : "UCS-2", units: units,
      parts: units <= single ? 1 : Math.ceil(units / multi) };
  }

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, (all, name) => (name in values ? String(values[name]) : all));
  }

  const body = chat.querySelector("textarea[name=body]");
  const counter = chat.querySelector(".sms-counter");
  function count() {
    const s = split(body.value);
    const max = Number(body.dataset.maxParts);
    counter.textContent = fill(counter.dataset.text, { chars: Array.from(body.value).length, parts: s.parts,
      encoding: s.encoding });
    counter.classList.toggle("sms-too-long", s.parts > max);
    if (s.parts > max) counter.textContent += " — " + fill(counter.dataset.tooLong, { max: max });
  }
  if (body && counter) {
    body.addEventListener("input", count);
    count();
  }

  let readUpTo = 0;
  function markRead() {
    const list = chat.querySelector(".sms-messages");
    const last = Number(list && list.dataset.lastIn);
    if (!last || last <= readUpTo || Number(list.dataset.unread) === 0 || document.hidden) return;
    readUpTo = last;
    fetch(chat.dataset.read, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify({ up_to: last }) });
  }

  function connect() {
    const source = new EventSource(chat.dataset.events);
    source.addEventListener("open", () => { chat.dataset.live = "1"; });
    source.addEventListener("messages", (event) => {
      const data = JSON.parse(event.data);
      const list = chat.querySelector(".sms-messages");
      const wasAtEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
      list.outerHTML = data.html;  // the server's own template, autoescaped there
      const fresh = chat.querySelector(".sms-messages");
      if (wasAtEnd) fresh.scrollTop = fresh.scrollHeight;
      markRead();
    });
    source.addEventListener("error", () => {
      chat.dataset.live = "";
      // The browser retries by itself, unless the server refused (a restart's 5xx): then we do.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    });
  }

  document.addEventListener("visibilitychange", markRead);
  const list = chat.querySelector(".sms-messages");
  if (list) list.scrollTop = list.scrollHeight;
  markRead();
  connect();
})();
