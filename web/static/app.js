// Red Ghost web UI: the little the pages need beyond HTML. The queues
// table reads its rows again every few seconds (paused while the tab is
// hidden); a checkbox selects every dead letter of the page.
(function () {
  "use strict";
  var rows = document.getElementById("queue-rows");
  if (rows) {
    var every = parseInt(rows.getAttribute("data-refresh"), 10) || 2000;
    var stamp = document.getElementById("stamp");
    var tick = function () {
      if (document.hidden) {
        setTimeout(tick, every);
        return;
      }
      fetch(rows.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) {
          // The server escaped every name in this fragment.
          rows.innerHTML = html;
          if (stamp) {
            stamp.textContent = "read at " + new Date().toISOString().slice(11, 19) + " UTC";
            stamp.setAttribute("data-state", "live");
          }
        })
        .catch(function (e) {
          if (stamp) {
            stamp.textContent = "not updated: " + e.message;
            stamp.setAttribute("data-state", "stale");
          }
        })
        .then(function () { setTimeout(tick, every); });
    };
    setTimeout(tick, every);
  }
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      var boxes = document.querySelectorAll('input[type=checkbox][name=id]');
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
    });
  }
})();
