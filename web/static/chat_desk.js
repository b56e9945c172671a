// The web chat desk (issue 23): while /chats is open the operator is online. Each visitor's new chat comes
// as an invitation with a sound; the first operator to accept takes it, and the others' invitations turn to
// "taken by X" (events from /chats/events: waiting, invite, taken, gone). Texts are set with textContent.
(function () {
  "use strict";
  const desk = document.getElementById("chat-desk");
  if (!desk) return;
  const list = document.getElementById("chat-invitations");
  const none = document.getElementById("chat-no-invitations");
  const live = document.getElementById("chat-live");
  let audio = null;

  function beep() {
    // A short two-tone chime made in the page (no sound file; a browser may keep it silent until a click).
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      [0, 0.18].forEach((delay, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = i ? 1100 : 880;
        gain.gain.value = 0.15;
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + delay);
        osc.stop(audio.currentTime + delay + 0.15);
      });
      desk.dataset.rang = String(Number(desk.dataset.rang || 0) + 1);
    } catch (e) { /* no audio: the invitation still shows */ }
  }

  function url(template, id) {
    return template.replace(/\/0(\/|$)/, "/" + id + "$1");
  }

  function item(chat) {
    const li = document.createElement("li");
    li.id = "chat-invite-" + chat.id;
    li.className = "chat-invite";
    li.dataset.id = chat.id;
    const siteName = document.createElement("span");
    siteName.className = "chat-site";
    siteName.textContent = chat.site;
    const pageUrl = document.createElement("span");
    pageUrl.className = "chat-page-url";
    pageUrl.textContent = chat.page_url;
    const first = document.createElement("q");
    first.className = "chat-first";
    first.textContent = chat.first_message;
    const form = document.createElement("form");
    form.method = "post";
    form.action = url(desk.dataset.accept, chat.id);
    form.className = "inline chat-accept";
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "csrf_token";
    csrf.value = desk.dataset.csrf;
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = desk.dataset.acceptText;
    form.append(csrf, button);
    li.append(siteName, " ", pageUrl, " ", first, " ", form);
    return li;
  }

  function refresh() {
    none.hidden = list.children.length > 0;
  }

  function invite(chat, ring) {
    if (document.getElementById("chat-invite-" + chat.id)) return;
    list.append(item(chat));
    refresh();
    if (ring) beep();
  }

  function taken(id, text) {
    const li = document.getElementById("chat-invite-" + id);
    if (!li) return;
    li.classList.add("chat-taken");
    const form = li.querySelector("form");
    if (form) form.remove();
    let note = li.querySelector(".chat-taken-by");
    if (!note) {
      note = document.createElement("span");
      note.className = "chat-taken-by";
      li.append(note);
    }
    note.textContent = text;
  }

  function connect() {
    const source = new EventSource(desk.dataset.events);
    source.addEventListener("open", () => { live.hidden = false; desk.dataset.live = "1"; });
    source.addEventListener("waiting", (event) => {
      const chats = JSON.parse(event.data).chats;
      const ids = new Set(chats.map((c) => String(c.id)));
      for (const li of Array.from(list.children)) {
        if (!ids.has(li.dataset.id) && !li.classList.contains("chat-taken")) li.remove();
      }
      chats.forEach((c) => invite(c, false));
      refresh();
    });
    source.addEventListener("invite", (event) => invite(JSON.parse(event.data), true));
    source.addEventListener("taken", (event) => {
      const data = JSON.parse(event.data);
      if (data.mine) {
        const li = document.getElementById("chat-invite-" + data.id);
        if (li) li.remove();
        refresh();
        return;
      }
      taken(data.id, desk.dataset.taken.replace("%(name)s", data.name));
    });
    source.addEventListener("gone", (event) => {
      taken(JSON.parse(event.data).id, desk.dataset.gone);
    });
    source.addEventListener("error", () => {
      live.hidden = true;
      desk.dataset.live = "";
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    });
  }
  connect();
})();
