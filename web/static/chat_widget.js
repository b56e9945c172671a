// The web chat's widget (issue 23, I3), served by pbxcrm at /chat/widget.js for any site to add with
//   <script src="https://crm.example/chat/widget.js" data-site="KEY" async></script>
// A logged-in shop customer may be named by the site's server, signed with the site's secret:
//   data-visitor-id, data-visitor-email, data-visitor-name, data-visitor-ts, data-visitor-sig (a data-visitor-phone is sent but, not being signed, not taken as the site's word).
// It draws a small chat box with DOM calls only (every text through textContent: nothing anyone writes is
// ever HTML), keeps the visitor's token in localStorage, tells the CRM each page it is on, shows the
// operator typing, and, when no operator is online, offers a form to leave a message instead.
// Its words come from the CRM in the visitor's browser's language (the "welcome" frame).
(function () {
  "use strict";
  const script = document.currentScript ||
    document.querySelector("script[data-site][src*='/chat/widget.js']");
  if (!script || !script.dataset.site || window.__pbxcrmChat) return;
  window.__pbxcrmChat = true;
  const site = script.dataset.site;
  const base = new URL(script.src, document.baseURI);
  const socketUrl = (base.protocol === "https:" ? "wss:" : "ws:") + "//" + base.host + "/chat/ws?site=" +
    encodeURIComponent(site);
  const storeKey = "pbxcrm-chat-token-" + site;

  function stored() {
    try { return window.localStorage.getItem(storeKey); } catch (e) { return null; }
  }
  function store(token) {
    try { window.localStorage.setItem(storeKey, token); } catch (e) { /* private mode: a visitor per page */ }
  }
  function identity() {
    const d = script.dataset;
    if (!d.visitorId || !d.visitorSig) return null;
    return { id: d.visitorId, email: d.visitorEmail || "", name: d.visitorName || "", ts: d.visitorTs || "",
      sig: d.visitorSig, phone: d.visitorPhone || "" };
  }
  function page() {
    return { url: String(location.href), title: document.title || "", referrer: document.referrer || "" };
  }

  // ---- the box ----
  function el(tag, props, styles) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    Object.assign(node.style, styles || {});
    return node;
  }
  const root = el("div", { id: "pbxcrm-chat" }, { position: "fixed", right: "16px", bottom: "16px",
    zIndex: "2147483000", fontFamily: "sans-serif", fontSize: "14px", color: "#222" });
  const opener = el("button", { id: "pbxcrm-chat-open", type: "button", textContent: "Chat" },
    { padding: "10px 16px", borderRadius: "20px", border: "0", background: "#2b6cb0", color: "#fff",
      cursor: "pointer" });
  const panel = el("div", { id: "pbxcrm-chat-panel", hidden: true }, { width: "300px", background: "#fff",
    border: "1px solid #ccc", borderRadius: "8px", boxShadow: "0 2px 12px rgba(0,0,0,.2)", padding: "8px" });
  const head = el("div", {}, { display: "flex", justifyContent: "space-between", marginBottom: "6px" });
  const title = el("strong", { id: "pbxcrm-chat-title" });
  const closer = el("button", { id: "pbxcrm-chat-close", type: "button", textContent: "×" },
    { border: "0", background: "none", cursor: "pointer", fontSize: "16px" });
  head.append(title, closer);
  const status = el("p", { id: "pbxcrm-chat-status" }, { margin: "4px 0", color: "#666", fontSize: "12px" });
  const list = el("ol", { id: "pbxcrm-chat-messages" }, { listStyle: "none", margin: "0", padding: "0",
    maxHeight: "240px", overflowY: "auto" });
  const typing = el("p", { id: "pbxcrm-chat-typing", hidden: true }, { margin: "4px 0", color: "#666",
    fontSize: "12px", fontStyle: "italic" });
  const error = el("p", { id: "pbxcrm-chat-error", hidden: true }, { margin: "4px 0", color: "#b00",
    fontSize: "12px" });
  // No display set on what is shown and hidden by its `hidden` attribute (a display would override it).
  const form = el("form", { id: "pbxcrm-chat-form" }, { marginTop: "6px" });
  const input = el("textarea", { id: "pbxcrm-chat-input", rows: 2, maxLength: 2000 }, { width: "95%" });
  const send = el("button", { id: "pbxcrm-chat-send", type: "submit" });
  form.append(input, send);
  const offline = el("form", { id: "pbxcrm-chat-offline", hidden: true }, { marginTop: "6px" });
  const offlineText = el("p", { id: "pbxcrm-chat-offline-text" }, { margin: "4px 0" });
  const offName = el("input", { name: "name", maxLength: 200 }, { display: "block", width: "95%", margin: "2px 0" });
  const offContact = el("input", { name: "contact", maxLength: 300 }, { display: "block", width: "95%",
    margin: "2px 0" });
  const offBody = el("textarea", { name: "body", rows: 3, maxLength: 2000 }, { display: "block", width: "95%",
    margin: "2px 0" });
  const offSend = el("button", { type: "submit" });
  offline.append(offlineText, offName, offContact, offBody, offSend);
  panel.append(head, status, list, typing, error, form, offline);
  root.append(opener, panel);

  let words = {};
  let socket = null;
  let online = true;
  let refused = false;
  let typingTimer = null;
  let lastTyping = 0;
  const shown = new Set();

  function word(key, values) {
    let text = words[key] || "";
    for (const [k, v] of Object.entries(values || {})) text = text.split("%(" + k + ")s").join(v);
    return text;
  }
  function applyWords() {
    opener.textContent = word("open") || "Chat";
    title.textContent = word("title");
    closer.setAttribute("aria-label", word("close"));
    send.textContent = word("send");
    input.placeholder = word("placeholder");
    typing.textContent = word("typing");
    offlineText.textContent = word("offline");
    offName.placeholder = word("name");
    offContact.placeholder = word("contact");
    offBody.placeholder = word("message");
    offSend.textContent = word("leave");
  }
  function showMode() {
    form.hidden = !online;
    offline.hidden = online;
  }
  function addMessage(m) {
    if (m.id && shown.has(m.id)) return;
    if (m.id) shown.add(m.id);
    const li = el("li", { className: "pbxcrm-chat-" + m.from }, { margin: "4px 0", padding: "4px 6px",
      borderRadius: "6px", background: m.from === "operator" ? "#edf2f7" : "#e6fffa",
      textAlign: m.from === "operator" ? "left" : "right", whiteSpace: "pre-wrap", overflowWrap: "anywhere" });
    if (m.from === "operator" && m.name) {
      li.append(el("strong", { textContent: m.name + ": " }));
    }
    li.append(document.createTextNode(m.body));
    list.append(li);
    list.scrollTop = list.scrollHeight;
    if (m.from === "operator") typing.hidden = true;
  }
  function setStatus(s, operator) {
    if (s === "waiting") status.textContent = word("waiting");
    else if (s === "active") status.textContent = operator ? word("joined", { name: operator }) : "";
    else if (s === "closed") status.textContent = word("closed");
    else status.textContent = "";
  }
  function say(text) {
    error.textContent = text;
    error.hidden = !text;
  }
  function frame(data) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(data));
      return true;
    }
    return false;
  }

  function connect() {
    socket = new WebSocket(socketUrl);
    socket.addEventListener("open", () => {
      frame({ type: "hello", token: stored(), page: page(), identity: identity() });
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "welcome") {
        words = data.texts || {};
        store(data.token);
        online = !!data.online || data.status === "waiting" || data.status === "active";
        applyWords();
        showMode();
        setStatus(data.status, data.operator);
        (data.messages || []).forEach(addMessage);
        root.dataset.ready = "1";
      } else if (data.type === "message") {
        addMessage(data);
        if (data.from === "visitor" && !status.textContent) setStatus("waiting");
      } else if (data.type === "typing") {
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { typing.hidden = true; }, 4000);
      } else if (data.type === "status") {
        setStatus(data.status, data.operator);
      } else if (data.type === "error") {
        say(data.text || data.error);
      } else if (data.type === "offline_saved") {
        offline.replaceChildren(el("p", { id: "pbxcrm-chat-thanks", textContent: word("thanks") }));
      }
    });
    socket.addEventListener("close", (event) => {
      root.dataset.ready = "";
      if (event.code === 4403) { refused = true; root.hidden = true; return; }
      if (!refused) setTimeout(connect, 2000);
    });
  }

  opener.addEventListener("click", () => { panel.hidden = false; opener.hidden = true; input.focus(); });
  closer.addEventListener("click", () => { panel.hidden = true; opener.hidden = false; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    say("");
    if (frame({ type: "message", body: body })) input.value = "";
    else say(word("failed"));
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping > 1500) {
      lastTyping = now;
      frame({ type: "typing" });
    }
  });
  offline.addEventListener("submit", (event) => {
    event.preventDefault();
    say("");
    if (!offBody.value.trim()) { say(word("empty")); return; }
    frame({ type: "offline", name: offName.value, contact: offContact.value, body: offBody.value });
  });
  window.addEventListener("popstate", () => frame({ type: "page", page: page() }));
  window.addEventListener("hashchange", () => frame({ type: "page", page: page() }));

  function start() {
    document.body.append(root);
    connect();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
