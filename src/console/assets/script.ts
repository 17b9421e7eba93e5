// The console's own browser script (served as /console/assets/console.js; the CSP allows no inline
// script). It (1) adds the CSRF token to htmx requests, (2) listens to the live feed and turns its
// messages into DOM events that htmx regions refresh on, (3) counts down "time left" from the
// server's figure (not the browser's clock), and (4) sends the person back to sign-in when the
// session ends. Everything works without it too, by reloading.
export const CONSOLE_JS = `"use strict";
(function () {
  var body = document.body;
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:config:request", function (e) {
    if (meta && e.detail && e.detail.ctx && e.detail.ctx.request) e.detail.ctx.request.headers["X-CSRF-Token"] = meta.getAttribute("content");
  });

  function fire(name) { body.dispatchEvent(new CustomEvent(name, { bubbles: true })); }
  function signIn() { location.assign(body.getAttribute("data-sign-in") || "/console/sign-in?expired=1"); }

  // Countdowns: data-left-ms is what the server computed when it rendered the element.
  var started = new WeakMap();
  function fmt(ms) {
    if (ms <= 0) return "expired";
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + (s % 60) + " s";
    var h = Math.floor(m / 60);
    return h < 48 ? h + " h " + (m % 60) + " min" : Math.floor(h / 24) + " days";
  }
  function tick() {
    var now = performance.now();
    var els = document.querySelectorAll("[data-left-ms]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var left = Number(el.getAttribute("data-left-ms"));
      var key = el.getAttribute("data-left-ms");
      var s = started.get(el);
      if (!s || s.key !== key) { s = { key: key, at: now }; started.set(el, s); }
      var text = fmt(left - (now - s.at));
      if (el.textContent !== text) el.textContent = text;
    }
  }
  setInterval(tick, 1000);

  // The live feed.
  var url = body.getAttribute("data-live");
  var source = null;
  var retryMs = 1000;
  function connect() {
    body.setAttribute("data-live-state", "connecting");
    source = new EventSource(url);
    source.addEventListener("ready", function () {
      retryMs = 1000;
      body.setAttribute("data-live-state", "connected");
      // Catch up on anything that happened while not connected.
      fire("approvals-changed"); fire("payments-changed"); fire("notifications-changed");
    });
    source.addEventListener("approvals", function () { fire("approvals-changed"); });
    source.addEventListener("payments", function () { fire("payments-changed"); });
    source.addEventListener("notification", function () { fire("notifications-changed"); });
    source.addEventListener("signed-out", function () { source.close(); signIn(); });
    source.onerror = function () {
      if (source.readyState !== EventSource.CLOSED) { body.setAttribute("data-live-state", "reconnecting"); return; }
      body.setAttribute("data-live-state", "disconnected");
      fetch(body.getAttribute("data-session") || "/console/session", { credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) return signIn();
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }, function () { setTimeout(connect, retryMs); retryMs = Math.min(retryMs * 2, 30000); });
    };
  }
  if (url && typeof EventSource === "function") connect();
})();
`;
