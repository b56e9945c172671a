// An e-mail's page (issue 23): its HTML body is shown in a sandboxed frame without scripts
// (web/views/mail.py); this sizes the frame to the body once it has loaded, so the page scrolls, not the frame.
(function () {
  "use strict";
  const frame = document.getElementById("mail-body");
  if (!frame) {
    return;
  }
  function fit() {
    try {
      const doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        frame.style.height = (doc.documentElement.scrollHeight + 20) + "px";
      }
    } catch (e) {
      // A frame we cannot read keeps its own height.
    }
  }
  frame.addEventListener("load", fit);
  fit();
})();
