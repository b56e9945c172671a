// The live wallboard (issue 18): the server sends the board's HTML each time something changes
// (GET /wallboard/events, Server-Sent Events); in between, every wait and time in state ticks here,
// and a queue's longest-wait tile turns amber/red at the admin's thresholds as the seconds pass.
(function () {
  "use strict";
  const root = document.getElementById("wallboard");
  if (!root) return;
  const status = document.getElementById("wallboard-status");
  const COLOURS = ["ok", "amber", "red"];
  let offset = 0;  // the server's clock minus ours, in ms: waits tick on the server's time

  function setClock() {
    const board = root.querySelector(".wb-board");
    const now = board && Date.parse(board.dataset.now);
    if (now) offset = now - Date.now();
  }

  function duration(seconds) {  // as web/formatting.py duration: m:ss, h:mm:ss from an hour on
    const total = Math.max(0, Math.round(seconds));
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
  }

  function paint(el, colour) {
    COLOURS.forEach((c) => el.classList.toggle("wb-" + c, c === colour));
  }

  function tick() {
    const now = Date.now() + offset;
    root.querySelectorAll("[data-since]").forEach((el) => {
      el.textContent = duration((now - Date.parse(el.dataset.since)) / 1000);
    });
    root.querySelectorAll(".wb-queue").forEach((q) => {
      const longest = q.querySelector(".longest-wait[data-since]");
      const wait = longest ? (now - Date.parse(longest.dataset.since)) / 1000 : null;
      const colour = wait === null ? "ok"
        : wait >= Number(q.dataset.waitRed) ? "red" : wait >= Number(q.dataset.waitAmber) ? "amber" : "ok";
      const tile = q.querySelector(".wb-wait");
      if (tile) paint(tile, colour);
      const level = q.dataset.levelColour || "ok";
      paint(q, COLOURS[Math.max(COLOURS.indexOf(colour), COLOURS.indexOf(level))]);
    });
  }

  function connection(live) {
    if (!status) return;
    status.classList.toggle("wb-offline", !live);
    const span = status.querySelector(".wb-connection");
    if (span) span.textContent = live ? status.dataset.live : status.dataset.offline;
  }

  function connect() {
    const source = new EventSource(root.dataset.events);
    source.addEventListener("open", () => connection(true));
    source.addEventListener("board", (event) => {
      const data = JSON.parse(event.data);
      root.innerHTML = data.html;
      setClock();
      tick();
      root.dispatchEvent(new CustomEvent("wallboard:update"));  // listen-in's buttons may hook in here
    });
    source.addEventListener("error", () => {
      connection(false);
      // The browser retries by itself, unless the server refused (a restart's 5xx): then we do.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
    });
  }

  setClock();
  tick();
  setInterval(tick, 1000);
  connect();
})();
