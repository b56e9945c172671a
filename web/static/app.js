// pbxcrm in the browser: screen pops (H5) from /events, with Transfer (issue 15), click-to-call buttons (H6),
// confirmations.
// Templates carry no inline script or handler (the CSP forbids them): behaviour lives here, data in data-*.
// DOM is built with textContent only: nothing from a caller is parsed as HTML.
// Words come translated from the server (web/browser_texts.py, on <body data-i18n>).
(function () {
  "use strict";
  // The browser phone (issue 19): a user whose calls ring in the browser works in the phone's shell
  // (/phone, web/static/phone/phone.js), which shows this page in its frame and outlives it.
  const shell = document.body.dataset.browserPhone;
  if (shell && window.top === window) {
    window.location.replace(shell + "?to=" + encodeURIComponent(location.pathname + location.search + location.hash));
    return;
  }
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const texts = JSON.parse(document.body.dataset.i18n || "{}");

  // The word for `key`, its %(name)s filled from params: t("calling", { number: "101" }).
  function t(key, params) {
    return (texts[key] || key).replace(/%\((\w+)\)s/g, (all, name) =>
      params && name in params ? String(params[name]) : all);
  }

  function api(url, body) {
    const init = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = csrf;
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then((r) => r.json().then((j) => ({ ok: r.ok, status: r.status, body: j })));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  // ---- click-to-call: every phone number marked data-call is a button ----
  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-call]");
    if (!button) return;
    e.preventDefault();
    button.disabled = true;
    api("/api/calls", { number: button.dataset.call }).then((r) => {
      button.disabled = false;
      button.title = r.ok ? t("calling", { number: button.dataset.call }) : (r.body.error || t("failed"));
      button.classList.toggle("calling", r.ok);
    });
  });

  // ---- confirmations: <form data-confirm="Delete X?"> asks first; the text is data, never code ----
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
  });

  // ---- a voicemail counts as listened to once its player starts (<audio data-listened="POST url">) ----
  document.addEventListener("play", (e) => {
    const audio = e.target;
    if (!(audio instanceof HTMLAudioElement) || !audio.dataset.listened) return;
    const url = audio.dataset.listened;
    delete audio.dataset.listened;
    api(url, {}).then((r) => { if (r.ok) audio.classList.add("listened"); });
  }, true);

  // ---- the top menu on a phone: app.css folds nav.top under 640 px unless its button says expanded ----
  const menu = document.querySelector("button.menu-toggle");
  const nav = menu && menu.nextElementSibling;
  if (nav) {
    nav.id = nav.id || "top-menu";
    menu.setAttribute("aria-controls", nav.id);
    const open = (yes) => menu.setAttribute("aria-expanded", String(yes));
    menu.addEventListener("click", () => open(menu.getAttribute("aria-expanded") !== "true"));
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && menu.getAttribute("aria-expanded") === "true") { open(false); menu.focus(); }
    });
  }

  // ---- screen pop ----
  const pop = document.getElementById("screen-pop");
  if (!pop) return;

  function recent(id, box) {
    api("/api/counterparties/" + id + "/recent").then((r) => {
      if (!r.ok) return;
      const list = el("ul", { class: "recent" });
      for (const c of r.body.calls) {
        list.append(el("li", {}, `${c.when} ${c.direction_label || c.direction} ${c.status_label || c.status}` +
          (c.operator ? `, ${c.operator}` : "") + (c.comment ? `: ${c.comment}` : "")));
      }
      for (const task of r.body.tasks) {
        list.append(el("li", { class: "task" },
          t("task", { id: task.id, title: task.title, status: task.status_label || task.status })));
      }
      box.append(el("p", {}, r.body.remark || ""), el("h4", {}, t("last_interactions")), list);
    });
  }

  // The call scripts (H5) of the queue the call came through and of the caller's tags, first in the pop.
  function script(p, box) {
    const params = new URLSearchParams();
    if (p.queue_id) params.set("queue", p.queue_id);
    if (p.counterparty_id) params.set("counterparty", p.counterparty_id);
    api("/api/pop-scripts?" + params).then((r) => {
      if (!r.ok || !r.body.scripts.length) return;
      const section = el("section", { class: "call-script" }, el("h4", {}, t("script")));
      for (const s of r.body.scripts) section.append(el("p", { class: "script-" + s.source, title: s.name }, s.text));
      box.prepend(section);
    });
  }

  function attachForm(p, box) {
    const results = el("ul", { class: "attach-results" });
    const input = el("input", { type: "search", placeholder: t("find_placeholder"), "aria-label": t("find_label") });
    // Clients and companies both: an unknown number may be a company's switchboard.
    const find = el("button", { type: "button", onclick: () => {
      const q = "?q=" + encodeURIComponent(input.value);
      Promise.all([api("/api/clients" + q), api("/api/companies" + q)]).then((found) => {
        results.replaceChildren();
        for (const item of found.flatMap((r) => r.body.items || [])) {
          results.append(el("li", { class: "kind-" + item.kind }, item.display_name + " ",
            el("button", { type: "button", class: "attach", onclick: () => {
              api("/api/calls/channel/" + encodeURIComponent(p.channel_id) + "/counterparty", { counterparty_id: item.id })
                .then((a) => {
                  box.append(el("p", { class: "attached" }, a.ok ? t("attached", { result: a.body.number }) : a.body.error));
                });
            } }, t("attach"))));
        }
      });
    } }, t("find"));
    const create = el("a", { href: "/counterparties/new?kind=client&phones=" + encodeURIComponent(p.number) +
        "&call_channel=" + encodeURIComponent(p.channel_id), class: "create-client" },
      t("create_client"));
    box.append(el("p", {}, t("unknown_number")), input, find, results, create);
  }

  // ---- transfer (issue 15): the operator on the call sends it to a user, a queue or a number ----
  let targets = null;  // GET /api/transfer-targets, once per page

  function transferForm(p) {
    const form = el("form", { class: "transfer", hidden: "" });
    const to = el("select", { name: "to", "aria-label": t("transfer_to") });
    const number = el("input", { name: "number", type: "tel", hidden: "", placeholder: t("transfer_number_label"),
      "aria-label": t("transfer_number_label") });
    const status = el("span", { class: "transfer-status", role: "status" });
    const fill = (list) => {
      const users = el("optgroup", { label: t("transfer_users") });
      for (const u of list.users) users.append(el("option", { value: "user:" + u.id }, `${u.name} (${u.extension})`));
      const queues = el("optgroup", { label: t("transfer_queues") });
      for (const q of list.queues) queues.append(el("option", { value: "queue:" + q.id }, q.name));
      to.replaceChildren(users, queues, el("option", { value: "number:" }, t("transfer_number")));
    };
    to.addEventListener("change", () => { number.hidden = to.value !== "number:"; });
    form.append(to, number, el("button", { type: "submit" }, t("transfer")), status);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const [kind, id] = to.value.split(":");
      const body = kind === "number" ? { number: number.value } : { [kind + "_id"]: Number(id) };
      status.textContent = t("transferring");
      api("/api/calls/channel/" + encodeURIComponent(p.channel_id) + "/transfer", body)
        .then((r) => { status.textContent = r.ok ? t("transferring") : (r.body.error || t("failed")); });
    });
    const open = el("button", { type: "button", class: "transfer-open", "aria-expanded": "false", onclick: () => {
      const opening = form.hidden;
      form.hidden = !opening;
      open.setAttribute("aria-expanded", String(opening));
      if (opening && !targets) {
        targets = api("/api/transfer-targets").then((r) => (r.ok ? r.body : { users: [], queues: [] }));
      }
      if (opening) targets.then(fill);
    } }, t("transfer"));
    return [open, form];
  }

  // The call left this user (transferred away), or the transfer asked for did not go through.
  function transferNews(p) {
    const text = p.event === "transferred" ? t("transferred_to", { to: p.detail }) : t("transfer_failed");
    if (pop.dataset.channel !== p.channel_id || pop.hidden) {
      pop.replaceChildren(el("header", {}, el("strong", {}, t("on_the_call", { number: p.number })),
        el("button", { type: "button", class: "link", title: t("close"), onclick: () => { pop.hidden = true; } }, "×")));
      pop.dataset.channel = p.channel_id;
      pop.hidden = false;
    }
    for (const form of pop.querySelectorAll("form.transfer, button.transfer-open")) {
      if (p.event === "transferred") form.remove();
    }
    pop.dataset.event = p.event;
    pop.append(el("p", { class: "transfer-news", role: "status" }, text));
    window.pbxcrmPops = (window.pbxcrmPops || []).concat([{ at: Date.now(), event: p }]);
  }

  // A colleague answered the call this pop rang for: it closes (another call's pop stays).
  function taken(p) {
    window.pbxcrmPops = (window.pbxcrmPops || []).concat([{ at: Date.now(), event: p }]);
    if (pop.dataset.channel !== p.channel_id) return;
    pop.dataset.event = p.event;
    pop.hidden = true;
  }

  // The call this pop rang for no longer rings for this user, unanswered (issue 20): the caller hung up, or
  // it went on (voicemail, a callback, another member). The pop says which for a moment, then closes.
  const ENDED_SHOWN_MS = 2500;
  function ended(p) {
    window.pbxcrmPops = (window.pbxcrmPops || []).concat([{ at: Date.now(), event: p }]);
    if (pop.dataset.channel !== p.channel_id || pop.hidden) return;
    pop.dataset.event = p.event;
    for (const old of pop.querySelectorAll(".pop-ended")) old.remove();
    pop.prepend(el("p", { class: "pop-ended", role: "status" }, t(p.detail === "hung_up" ? "pop_hung_up" : "pop_moved_on")));
    setTimeout(() => {
      // Unless another pop (or this call ringing again) took the panel meanwhile.
      if (pop.dataset.channel === p.channel_id && pop.dataset.event === "ended") pop.hidden = true;
    }, ENDED_SHOWN_MS);
  }

  function show(p) {
    if (p.event === "transferred" || p.event === "transfer_failed") return transferNews(p);
    if (p.event === "taken") return taken(p);
    if (p.event === "ended") return ended(p);
    const box = el("div", { class: "pop-body" });
    const title = t(p.event === "ringing" ? "incoming_call" : "on_the_call", { number: p.number });
    pop.replaceChildren(el("header", {}, el("strong", {}, title),
      el("button", { type: "button", class: "link", title: t("close"), onclick: () => { pop.hidden = true; } }, "×")), box);
    if (p.counterparty_id) {
      box.append(el("a", { href: "/counterparties/" + p.counterparty_id, class: "pop-name" }, p.name));
      recent(p.counterparty_id, box);
    } else {
      attachForm(p, box);
    }
    if (p.queue_id || p.counterparty_id) script(p, box);
    const note = el("textarea", { rows: "2", placeholder: t("comment_placeholder"), "aria-label": t("comment_label") });
    const saved = el("span", { class: "saved" });
    box.append(note, el("button", { type: "button", class: "save-comment", onclick: () => {
      api("/api/calls/channel/" + encodeURIComponent(p.channel_id) + "/comment", { comment: note.value })
        .then((r) => { saved.textContent = r.ok ? t("saved") : r.body.error; });
    } }, t("save_comment")), saved);
    if (p.event === "answered" && p.direction === "incoming") box.append(...transferForm(p));
    pop.dataset.channel = p.channel_id;
    pop.dataset.event = p.event;
    pop.hidden = false;
    // Kept for tests and for the operator's own scripts: when each pop was shown.
    window.pbxcrmPops = (window.pbxcrmPops || []).concat([{ at: Date.now(), event: p }]);
  }

  // ---- notifications (J1): desktop when allowed, and always in the page ----
  // A notification nobody's tab received comes when the next page opens (J1); each one once per page.
  const tray = document.getElementById("notifications");
  const seen = new Set();
  function notify(n) {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    window.pbxcrmNotifications = (window.pbxcrmNotifications || []).concat([n]);
    if ("Notification" in window && Notification.permission === "granted") {
      const note = new Notification(n.title, { body: n.body, tag: "pbxcrm-" + n.id });
      note.onclick = () => { window.focus(); location.href = n.url; };
    }
    tray.hidden = false;
    tray.prepend(el("a", { href: n.url, class: "notification notification-" + n.kind }, n.title));
  }
  const enable = document.getElementById("enable-notifications");
  if (enable && "Notification" in window && Notification.permission === "default") {
    enable.hidden = false;
    enable.addEventListener("click", () => Notification.requestPermission().then(() => { enable.hidden = true; }));
  }

  const events = new EventSource("/events");
  events.onopen = () => { document.body.dataset.pops = "ready"; };
  events.addEventListener("pop", (e) => show(JSON.parse(e.data)));
  events.addEventListener("notification", (e) => notify(JSON.parse(e.data)));
})();
