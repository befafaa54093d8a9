/* surge run --ui: follows /api/events (Server-Sent Events) and shows the stream's state and its
 * last event. Text is set with textContent only: nothing from the stream is read as HTML. The
 * browser reconnects by itself with Last-Event-ID; the server then sends what was missed. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var received = 0;

  function setState(state, text) {
    var el = $("state");
    el.setAttribute("data-state", state);
    el.textContent = text;
  }

  function note(text) {
    var el = $("note");
    el.hidden = !text;
    el.textContent = text || "";
  }

  var source = new EventSource("/api/events");

  source.onopen = function () { setState("live", "live"); };
  source.onerror = function () {
    setState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting",
             source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…");
  };

  /* The server's first word on each connection: where its history starts and what it dropped. */
  source.addEventListener("history", function (e) {
    var h = JSON.parse(e.data);
    $("first-id").textContent = String(h.first_id);
    $("dropped").textContent = String(h.dropped);
    if (h.reset) {
      received = 0;
      note("This is a new run: the page starts afresh.");
    } else if (h.missed > 0) {
      note(h.missed + " event(s) were dropped from the server's history (bounded to " +
           h.history_max_bytes + " bytes) before this page could read them.");
    } else {
      note("");
    }
  });

  source.onmessage = function (e) {
    received++;
    $("last-id").textContent = e.lastEventId;
    $("received").textContent = String(received);
    var text = e.data;
    try { text = JSON.stringify(JSON.parse(e.data), null, 2); } catch (err) { /* shown as sent */ }
    $("event").textContent = text;
  };
})();
