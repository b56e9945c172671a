// SMS campaigns (issue 21): the text's live preview with sample values (asks /api/sms/campaigns/preview
// as one types) and the campaign's progress, polled every 2 s while it may still change. textContent only.
(function () {
  "use strict";
  const body = document.getElementById("campaign-body");
  const preview = document.getElementById("campaign-preview");
  if (body && preview) {
    let timer = null;
    const show = async function () {
      const response = await fetch(preview.dataset.url + "?body=" + encodeURIComponent(body.value),
                                   {headers: {Accept: "application/json"}, credentials: "same-origin"});
      if (!response.ok) return;
      const data = await response.json();
      preview.classList.toggle("error", Boolean(data.error));
      preview.textContent = data.error ? data.error
        : data.text + " — " + preview.dataset.parts.replace("#", String(data.parts));
    };
    body.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(show, 300);
    });
    if (body.value) show();
  }

  const progress = document.getElementById("campaign-progress");
  const live = ["awaiting_approval", "approved", "running", "paused"];
  if (progress && live.includes(progress.dataset.status)) {
    const status = document.getElementById("campaign-status");
    const poll = async function () {
      const response = await fetch(progress.dataset.url, {headers: {Accept: "application/json"},
                                                          credentials: "same-origin"});
      if (response.ok) {
        const data = await response.json();
        for (const dd of progress.querySelectorAll("dd[data-total]")) {
          const value = data.totals[dd.dataset.total];
          if (value !== undefined) dd.textContent = value.toLocaleString(document.documentElement.lang || undefined);
        }
        if (status) status.textContent = data.status_text;
        progress.dataset.status = data.status;
        if (!live.includes(data.status)) return;
      }
      setTimeout(poll, 2000);
    };
    setTimeout(poll, 2000);
  }
})();
