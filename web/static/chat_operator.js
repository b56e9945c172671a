// A web chat's page for the operator (issue 23): the visitor's messages and typing live from
// /chats/{id}/events, the operator's messages sent with fetch (the CSRF token in a header) and the
// operator's typing told to the visitor. Every text is set with textContent: a visitor's "<b>" stays text.
(function () {
  "use strict";
  const chat = document.getElementById("chat");
  if (!chat) return;
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const list = document.getElementById("chat-messages");
  const typing = document.getElementById("chat-typing");
  const statusText = document.getElementById("chat-status");
  const words = JSON.parse(chat.dataset.statusWords || "{}");
  const form = document.getElementById("chat-send");
  let typingTimer = null;
  let lastTyping = 0;

  function add(m) {
    if (document.getElementById("chat-msg-" + m.id)) return;
    const li = document.createElement("li");
    li.className = "chat-msg chat-from-" + m.from;
    li.id = "chat-msg-" + m.id;
    li.dataset.id = m.id;
    const who = document.createElement("span");
    who.className = "chat-who";
    who.textContent = m.from === "operator" ? m.name : chat.dataset.visitor;
    const time = document.createElement("time");
    time.textContent = new Date(m.at).toLocaleTimeString();
    const body = document.createElement("p");
    body.className = "chat-body";
    body.textContent = m.body;
    li.append(who, " ", time, body);
    list.append(li);
    list.scrollTop = list.scrollHeight;
    if (m.from === "visitor") typing.hidden = true;
  }

  function post(url, data) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify(data || {}) });
  }

  function connect() {
    const source = new EventSource(chat.dataset.events);
    source.addEventListener("open", () => { chat.dataset.live = "1"; });
    source.addEventListener("message", (event) => add(JSON.parse(event.data)));
    source.addEventListener("typing", () => {
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { typing.hidden = true; }, 4000);
    });
    source.addEventListener("status", (event) => {
      const data = JSON.parse(event.data);
      statusText.textContent = words[data.status] || data.status;
      chat.dataset.status = data.status;
      if (data.status === "closed" && form) form.hidden = true;
    });
    source.addEventListener("error", () => {
      chat.dataset.live = "";
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    });
  }

  if (form) {
    const text = form.querySelector("textarea");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      const answer = await post(chat.dataset.send, { body: body }).catch(() => null);
      if (answer && answer.ok) {
        text.value = "";
        document.getElementById("chat-error").hidden = true;
      } else {
        let why = chat.dataset.failed;
        if (answer) {
          try { why = (await answer.json()).error || why; } catch (e) { /* keep the generic words */ }
        }
        const error = document.getElementById("chat-error");
        error.textContent = why;
        error.hidden = false;
      }
    });
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    text.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 1500) {
        lastTyping = now;
        post(chat.dataset.typingUrl);
      }
    });
  }
  list.scrollTop = list.scrollHeight;
  connect();
})();
