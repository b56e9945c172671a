// An e-mail's page (issue 23). Its HTML body is shown in a sandboxed frame without scripts
// (web/views/mail.py); this sizes the frame to the body once it has loaded, so the page scrolls, not the frame.
// An outgoing message's status follows the sender live (/mail/{id}/events: its NOTIFYs), texts from the server.
(function () {
  "use strict";
  const frame = document.getElementById("mail-body");
  if (frame) {
    const fit = function () {
      try {
        const doc = frame.contentDocument;
        if (doc && doc.documentElement) {
          frame.style.height = (doc.documentElement.scrollHeight + 20) + "px";
        }
      } catch (e) {
        // A frame we cannot read keeps its own height.
      }
    };
    frame.addEventListener("load", fit);
    fit();
  }

  const status = document.getElementById("mail-status");
  if (status && status.dataset.events && window.EventSource) {
    const source = new EventSource(status.dataset.events);
    source.addEventListener("status", function (event) {
      const data = JSON.parse(event.data);
      status.textContent = data.text;
      status.className = "status-" + data.status;
      document.querySelector("article.mail-message").dataset.status = data.status;
      for (const el of document.querySelectorAll(".mail-error")) {
        el.hidden = !data.error;
      }
      document.getElementById("mail-error").textContent = data.error;
      if (data.status === "sent" || data.status === "failed") {
        source.close();
      }
    });
  }
})();
