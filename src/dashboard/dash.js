// hostkey-emu dashboard: live tasks through Server-Sent Events (no framework, no build step).
// An element with data-live="/path" gets its content replaced by each "tasks" event.
(function () {
  "use strict";
  function start() {
    var box = document.querySelector("[data-live]");
    if (!box || !window.EventSource) return;
    var status = document.getElementById("live-state");
    var source = new EventSource(box.getAttribute("data-live"));
    source.addEventListener("tasks", function (e) {
      box.innerHTML = e.data; // server-rendered, every value escaped by the server
      if (status) status.textContent = "live updates: on";
    });
    source.onerror = function () {
      if (status) status.textContent = "live updates: reconnecting…";
    };
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
