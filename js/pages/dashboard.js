// The room's dashboard (templates/operator/dashboard.html): every 2 s, ballots cast against
// credentials issued, from GET /operator/polls/<id>/status. Never a count of votes: the endpoint
// has none. Every text comes from the page (data-* attributes), so the page's language applies.
(function () {
  "use strict";
  var PERIOD_MS = 2000;
  var root = document.getElementById("dashboard");
  if (!root || !root.dataset.statusUrl) {
    return;
  }
  function byId(id) {
    return document.getElementById(id);
  }
  function stateName(state) {
    var key = "state" + state.charAt(0).toUpperCase() + state.slice(1);
    return root.dataset[key] || state;
  }
  function notice(text) {
    var stale = byId("stale");
    stale.textContent = text || "";
    stale.hidden = !text;
  }
  function show(status) {
    var issued = Number(status.issued) || 0;
    var cast = Number(status.cast) || 0;
    byId("cast").textContent = String(cast);
    byId("issued").textContent = String(issued);
    var bar = byId("progress");
    bar.max = Math.max(issued, 1);
    bar.value = cast;
    byId("percent").textContent = String(issued ? Math.round((100 * cast) / issued) : 0);
    byId("state").textContent = stateName(String(status.state));
    byId("voided").textContent = String(Number(status.voided) || 0);
    byId("voided-line").hidden = status.state !== "closed";
    // The members present (the attendance chain): the server takes no ballot beyond them.
    var present = Number(status.present) || 0;
    byId("present").textContent = String(present);
    byId("members").textContent = String(Number(status.members) || 0);
    byId("full").hidden = !(status.state === "open" && cast >= present);
    root.classList.remove("state-draft", "state-open", "state-closed");
    root.classList.add("state-" + status.state);
  }
  function tick() {
    fetch(root.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      cache: "no-store",
      credentials: "same-origin",
      redirect: "error",
    })
      .then(function (response) {
        if (response.status === 401) {
          notice(root.dataset.loggedOut);
          return null; // stop: a new login is needed
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json().then(function (status) {
          show(status);
          notice("");
          return status;
        });
      })
      .then(
        function (status) {
          if (status && status.state !== "closed") {
            window.setTimeout(tick, PERIOD_MS);
          }
        },
        function () {
          notice(root.dataset.stale);
          window.setTimeout(tick, PERIOD_MS);
        },
      );
  }
  window.setTimeout(tick, PERIOD_MS);
})();
