// The browser phone (issue 19): JsSIP (web/static/vendor/jssip, from npm) registered over Asterisk's
// secure websocket as the user's webrtc-<extension> endpoint, in the page shell (/phone) that shows
// the CRM's pages in a frame: moving between pages changes the frame, never this page, so a call
// goes on. The screen pop stays the page's own (app.js in the frame); the phone rings with it.
// No inline script (CSP): the shell's markup is in phone_shell.html, its words on <body data-i18n>.
(function () {
  "use strict";
  const root = document.getElementById("phone");
  if (!root) return;
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const texts = JSON.parse(document.body.dataset.i18n || "{}");
  const t = (key, params) => (texts[key] || key).replace(/%\((\w+)\)s/g, (all, name) =>
    params && name in params ? String(params[name]) : all);
  const $ = (selector) => root.querySelector(selector);
  const frame = document.getElementById("page-frame");
  const status = $(".phone-state");
  const callLine = $(".phone-call");
  const audio = $(".phone-audio");
  const buttons = {
    answer: $(".phone-answer"), hangup: $(".phone-hangup"), mute: $(".phone-mute"), hold: $(".phone-hold"),
    keypad: $(".phone-keypad-open"), transfer: $(".phone-transfer-open"), retry: $(".phone-retry"),
  };
  const keypad = $(".phone-keypad");
  const transferForm = $(".phone-transfer");
  const dialForm = $(".phone-dial");

  let ua = null;
  let account = null;
  let session = null;  // the one call of this phone
  let call = null;     // what the page knows of it: number, channel (for Transfer), direction

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

  // ---- the shell: the frame's page is the address, its title the title ----
  frame.addEventListener("load", () => {
    let doc;
    try { doc = frame.contentDocument; } catch (e) { return; }
    if (!doc || !doc.body) return;
    const loc = frame.contentWindow.location;
    if (!doc.body.dataset.browserPhone && !session) {
      // Logged out, or the browser phone turned off: the page leaves the shell.
      window.location.replace(loc.href);
      return;
    }
    history.replaceState(null, "", root.dataset.shell + "?to=" + encodeURIComponent(loc.pathname + loc.search + loc.hash));
    document.title = doc.title;
  });

  // ---- state ----
  function setState(state, words) {
    root.dataset.state = state;
    status.textContent = words;
    buttons.retry.hidden = !["microphone-denied", "no-microphone", "failed", "unregistered"].includes(state);
  }

  function showCall() {
    const live = session !== null;
    const ringing = live && session.direction === "incoming" && !session.isEstablished();
    const talking = live && session.isEstablished();
    root.dataset.call = !live ? "none" : ringing ? "ringing" : talking ? "talking" : "calling";
    callLine.hidden = !live;
    if (live) {
      const number = call.name && call.name !== call.number ? `${call.name} (${call.number})` : call.number;
      const held = talking && session.isOnHold().local;
      callLine.textContent = ringing ? t("incoming_call", { number: number })
        : held ? t("phone_on_hold", { number: number })
        : talking ? t("on_the_call", { number: number }) : t("phone_calling", { number: number });
    }
    buttons.answer.hidden = !ringing;
    buttons.hangup.hidden = !live;
    buttons.mute.hidden = buttons.hold.hidden = buttons.keypad.hidden = !talking;
    buttons.transfer.hidden = !(talking && call.channel);
    if (!talking) { keypad.hidden = true; transferForm.hidden = true; }
    if (talking) {
      const muted = session.isMuted().audio;
      buttons.mute.textContent = t(muted ? "phone_unmute" : "phone_mute");
      buttons.mute.setAttribute("aria-pressed", String(muted));
      const held = session.isOnHold().local;
      buttons.hold.textContent = t(held ? "phone_resume" : "phone_hold");
      buttons.hold.setAttribute("aria-pressed", String(held));
    }
    dialForm.hidden = live;
    ring(root.dataset.call === "ringing");
  }

  // ---- start: the microphone first (no phone without it), then register ----
  async function start() {
    if (!window.JsSIP || !navigator.mediaDevices || !window.RTCPeerConnection) {
      setState("unsupported", t("phone_unsupported"));
      return;
    }
    setState("starting", t("phone_connecting"));
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      stream.getTracks().forEach((track) => track.stop());
    } catch (e) {
      // Denied (or dismissed) by the user or the browser's settings; else there is no microphone at all.
      const denied = e && (e.name === "NotAllowedError" || e.name === "SecurityError");
      setState(denied ? "microphone-denied" : "no-microphone", t(denied ? "phone_microphone_denied" : "phone_no_microphone"));
      return;
    }
    const r = await api(root.dataset.account);
    if (!r.ok) {
      setState("failed", t("phone_failed", { reason: r.body.error || r.status }));
      return;
    }
    account = r.body;
    if (ua) ua.stop();
    ua = new window.JsSIP.UA({
      sockets: [new window.JsSIP.WebSocketInterface(account.ws_url)],
      uri: account.uri, authorization_user: account.user, password: account.password,
      display_name: account.display_name, register: true, session_timers: false, user_agent: "pbxcrm",
    });
    ua.on("registered", () => setState("registered", t("phone_registered", { extension: account.extension })));
    ua.on("unregistered", () => setState("unregistered", t("phone_unregistered")));
    ua.on("registrationFailed", (e) => setState("failed", t("phone_failed", { reason: e.cause })));
    ua.on("disconnected", () => setState("unregistered", t("phone_unregistered")));
    ua.on("newRTCSession", (e) => take(e));
    ua.start();
  }

  const MEDIA = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] },
    rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false } };

  function take(e) {
    const s = e.session;
    if (session !== null) {
      if (e.originator === "remote") s.terminate({ status_code: 486, reason_phrase: "Busy Here" });
      return;
    }
    session = s;
    const request = e.request;
    const remote = s.remote_identity;
    call = {
      number: remote && remote.uri ? remote.uri.user : "",
      name: remote && remote.display_name ? remote.display_name : "",
      direction: s.direction,
      channel: s.direction === "incoming" && request.hasHeader("X-PBXCRM-Call") ? request.getHeader("X-PBXCRM-Call") : null,
    };
    if (s.direction === "incoming") {
      // Click-to-call (ari_app/clicktocall): the user just asked for this call from the page.
      call.auto = request.hasHeader("X-PBXCRM-Click-To-Call");
      call.number = call.auto ? (remote.uri.user || call.number) : call.number;
    }
    s.on("peerconnection", (ev) => listen(ev.peerconnection));
    if (s.connection) listen(s.connection);
    for (const name of ["progress", "accepted", "confirmed", "hold", "unhold", "muted", "unmuted"]) s.on(name, showCall);
    s.on("ended", () => over(s));
    s.on("failed", () => over(s));
    window.pbxcrmPhoneCalls = (window.pbxcrmPhoneCalls || []).concat([{ at: Date.now(), direction: s.direction,
      number: call.number, channel: call.channel, auto: Boolean(call.auto) }]);
    showCall();
    if (call.auto) answer();
  }

  function listen(pc) {
    pc.addEventListener("track", (ev) => {
      audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
      audio.play().catch(() => {});
    });
  }

  function over(s) {
    if (s !== session) return;
    session = null;
    call = null;
    audio.srcObject = null;
    showCall();
    callLine.hidden = false;
    callLine.textContent = t("phone_ended");
  }

  // ---- the ring: a 425 Hz tone, 1 s on and 3 s off, while a call waits (Web Audio; silent where the
  // browser allows no sound before the user has clicked in the page, the visual ring stays) ----
  let ringing = null;
  function ring(on) {
    if (!on) {
      if (ringing) { clearInterval(ringing.timer); ringing.context.close(); ringing = null; }
      return;
    }
    if (ringing || !window.AudioContext) return;
    const context = new AudioContext();
    const beep = () => {
      const tone = context.createOscillator();
      const gain = context.createGain();
      tone.frequency.value = 425;
      gain.gain.value = 0.15;
      tone.connect(gain).connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 1);
    };
    beep();
    ringing = { context: context, timer: setInterval(beep, 4000) };
  }

  function answer() {
    if (session && session.direction === "incoming" && !session.isEstablished()) session.answer(MEDIA);
  }

  buttons.answer.addEventListener("click", answer);
  buttons.hangup.addEventListener("click", () => { if (session) session.terminate(); });
  buttons.retry.addEventListener("click", start);
  buttons.mute.addEventListener("click", () => {
    if (!session) return;
    if (session.isMuted().audio) session.unmute({ audio: true }); else session.mute({ audio: true });
    showCall();
  });
  buttons.hold.addEventListener("click", () => {
    if (!session) return;
    if (session.isOnHold().local) session.unhold(); else session.hold();
  });
  buttons.keypad.addEventListener("click", () => {
    keypad.hidden = !keypad.hidden;
    buttons.keypad.setAttribute("aria-expanded", String(!keypad.hidden));
  });
  keypad.addEventListener("click", (e) => {
    const key = e.target.closest("[data-dtmf]");
    if (key && session && session.isEstablished()) session.sendDTMF(key.dataset.dtmf, { transportType: "RFC2833" });
  });

  // ---- Transfer: the web transfer API (web/views/transfers.py), the call named by its channel ----
  const to = transferForm.querySelector("select");
  const transferNumber = transferForm.querySelector("input[name=number]");
  const transferStatus = transferForm.querySelector(".phone-transfer-status");
  buttons.transfer.addEventListener("click", () => {
    transferForm.hidden = !transferForm.hidden;
    buttons.transfer.setAttribute("aria-expanded", String(!transferForm.hidden));
    if (transferForm.hidden || to.options.length) return;
    api("/api/transfer-targets").then((r) => {
      const list = r.ok ? r.body : { users: [], queues: [] };
      const group = (label, items) => {
        const g = document.createElement("optgroup");
        g.label = label;
        for (const [value, words] of items) g.append(new Option(words, value));
        return g;
      };
      to.replaceChildren(
        group(t("transfer_users"), list.users.map((u) => ["user:" + u.id, `${u.name} (${u.extension})`])),
        group(t("transfer_queues"), list.queues.map((q) => ["queue:" + q.id, q.name])),
        new Option(t("transfer_number"), "number:"));
    });
  });
  to.addEventListener("change", () => { transferNumber.hidden = to.value !== "number:"; });
  transferForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!call || !call.channel || !to.value) return;
    const [kind, id] = to.value.split(":");
    const body = kind === "number" ? { number: transferNumber.value } : { [kind + "_id"]: Number(id) };
    transferStatus.textContent = t("transferring");
    api("/api/calls/channel/" + encodeURIComponent(call.channel) + "/transfer", body)
      .then((r) => { transferStatus.textContent = r.ok ? t("transferring") : (r.body.error || t("failed")); });
  });

  // ---- a number typed here is called from this phone (the dialplan's [pbxcrm-phones], as a desk phone's) ----
  dialForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const number = dialForm.number.value.replace(/[^0-9+*#]/g, "");
    if (!ua || !number || session) return;
    const host = account.uri.split("@")[1];
    ua.call(`sip:${number}@${host}`, MEDIA);
  });

  // For tests and the curious: the phone's state, and the audio counters of its call (RTCPeerConnection.getStats).
  window.pbxcrmPhone = {
    state: () => root.dataset.state,
    call: () => root.dataset.call || "none",
    stats: async () => {
      if (!session || !session.connection) return null;
      const report = await session.connection.getStats();
      const out = { sent: 0, received: 0 };
      report.forEach((s) => {
        if (s.type === "outbound-rtp" && s.kind === "audio") out.sent += s.bytesSent || 0;
        if (s.type === "inbound-rtp" && s.kind === "audio") out.received += s.bytesReceived || 0;
      });
      return out;
    },
  };
  // Leaving the shell (logout, closing the tab): unregister, so calls stop coming to a page that is gone.
  window.addEventListener("pagehide", () => { if (ua) ua.stop(); });
  start();
})();
