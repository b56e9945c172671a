// A dial campaign's live dashboard (issue 22): polls its JSON (/api/dial-campaigns/{id}) every 2 s while
// the campaign may still change and fills every [data-figure] (a dotted path in the dashboard). textContent only.
(function () {
  "use strict";
  const board = document.getElementById("campaign-dashboard");
  if (!board) return;
  const live = ["draft", "running", "paused"];
  const status = document.getElementById("campaign-status");
  const drop = document.getElementById("campaign-drop");
  const bar = document.getElementById("campaign-progress");
  const lang = document.documentElement.lang || undefined;
  const at = function (data, path) {
    return path.split(".").reduce(function (value, key) {
      return value === undefined || value === null ? undefined : value[key];
    }, data);
  };
  const show = function (figures) {
    for (const element of board.querySelectorAll("[data-figure]")) {
      const value = at(figures, element.dataset.figure);
      if (value !== undefined) element.textContent = Number(value).toLocaleString(lang);
    }
    if (bar) bar.value = figures.progress.percent;
    if (drop) {
      drop.classList.toggle("error", Boolean(figures.drop.over));
      drop.dataset.over = figures.drop.over ? "true" : "false";
    }
  };
  const poll = async function () {
    try {
      const response = await fetch(board.dataset.url, {headers: {Accept: "application/json"},
                                                       credentials: "same-origin"});
      if (response.ok) {
        const data = await response.json();
        show(data.dashboard);
        if (status) status.textContent = data.status_text;
        board.dataset.status = data.campaign.status;
        board.dataset.polled = String(Number(board.dataset.polled || "0") + 1);
        if (!live.includes(data.campaign.status)) return;
      }
    } catch (e) {
      // The server is away for a moment: try again at the next tick.
    }
    setTimeout(poll, 2000);
  };
  if (live.includes(board.dataset.status)) setTimeout(poll, 2000);
})();
