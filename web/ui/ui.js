/* surge live page (docs/ui.md, "The page"): starts, steers and watches a `surge run --ui`.
 * On load it reads /api/state and /api/snapshot, then follows /api/events; the browser
 * reconnects by itself with Last-Event-ID and the store (ui_store.js) takes each event once.
 * Drawing is coalesced to one frame however many events arrive (a joining page replays the
 * whole history at once), and only the open tab is drawn. The controls post to
 * /api/control/NAME; a refused one shows the server's error, a disabled one its reason.
 * window.surgeLive is what the browser test (tests/browser/ui.mjs) reads. */
(function () {
  "use strict";
  const U = window.SurgeUI;
  const { h, fill, num, obj, arr, str, isObj, fmtInt, fmtNum, fmtRate, fmtRateShort, fmtMs, fmtPct, fmtDuration, pill } = U;
  const $ = (id) => document.getElementById(id);

  const store = new U.Store();
  let source = null;
  let connection = "connecting";
  let ended = false; /* Quit answered: the process is gone, the page keeps what it has */
  let loadError = null;
  let controlsSig = "";
  let drawPending = 0;
  let tab = "charts";
  let selected = null; /* the endpoint key whose charts are open */
  let lastSpawn = null; /* the spawn rate this page last sent, when the state has none */

  const DOWNLOADS = [
    ["result.json", "Result (JSON)", "the result document so far"],
    ["report.html", "HTML report", "the same page as --html"],
    ["stats.csv", "stats.csv", "Locust's requests CSV"],
    ["stats_history.csv", "stats_history.csv", "Locust's history CSV"],
    ["failures.csv", "failures.csv", "Locust's failures CSV"],
  ];

  /* ---------- talking to the server ---------- */

  async function getJson(path) {
    let last = null;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const r = await fetch(path, { credentials: "same-origin", cache: "no-store" });
        if (r.ok) return await r.json();
        last = path + ": HTTP " + r.status + " " + (await errorText(r));
        if (r.status !== 503 && r.status !== 409) break; /* busy or not yet: try again */
      } catch (e) {
        last = path + ": " + e.message;
      }
      await new Promise((res) => setTimeout(res, 250 * (attempt + 1)));
    }
    throw new Error(last);
  }

  async function errorText(r) {
    try {
      const j = await r.json();
      return isObj(j) && j.error ? String(j.error) : "";
    } catch (e) {
      return "";
    }
  }

  async function load() {
    loadError = null;
    try {
      const [state, snap] = await Promise.all([getJson("/api/state"), getJson("/api/snapshot")]);
      store.state = state;
      store.applySnapshot(snap);
    } catch (e) {
      loadError = e.message;
    }
    connect();
    schedule();
  }

  function connect() {
    if (source) source.close();
    source = new EventSource("/api/events");
    source.onopen = () => setConnection("live");
    source.onerror = () => {
      if (ended) return;
      setConnection(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    };
    source.onmessage = onEvent;
    for (const name of ["second", "marker", "state", "snapshot"]) source.addEventListener(name, onEvent);
    source.addEventListener("history", (e) => {
      let note = null;
      try {
        note = JSON.parse(e.data);
      } catch (err) {
        U.noteError("history note: " + err.message);
        return;
      }
      if (store.applyHistory(note) === "reset") {
        /* another run's stream: start afresh */
        store.clear();
        selected = null;
        source.close();
        load();
        return;
      }
      schedule();
    });
  }

  function onEvent(e) {
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch (err) {
      U.noteError("event " + e.lastEventId + ": " + err.message);
      return;
    }
    const id = e.lastEventId && /^\d+$/.test(e.lastEventId) ? Number(e.lastEventId) : null;
    if (store.ingest(ev, id)) schedule();
  }

  function setConnection(c) {
    connection = c;
    document.body.dataset.connection = c;
    schedule();
  }

  async function control(name, body, button) {
    const err = $("control-error");
    err.hidden = true;
    if (button) button.disabled = true;
    const seq = store.stateSeq; /* a state event newer than the answer wins over it */
    try {
      const r = await fetch("/api/control/" + name, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body || {}),
      });
      if (!r.ok) {
        const text = await errorText(r);
        showControlError(name + " refused (HTTP " + r.status + ")" + (text ? ": " + text : ""));
        return false;
      }
      const j = await r.json().catch(() => null);
      if (isObj(j) && typeof j.state === "string" && store.stateSeq === seq) store.state = j;
      if (name === "quit") {
        ended = true;
        if (source) source.close();
        setConnection("ended");
      }
      controlsSig = "";
      schedule();
      return true;
    } catch (e) {
      showControlError(name + ": " + e.message);
      return false;
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  function showControlError(text) {
    const err = $("control-error");
    fill(err, h("div", { class: "icon", "aria-hidden": "true" }, "×"), h("div", null, h("b", null, "The control was not applied"), U.cut(text, 400)));
    err.hidden = false;
  }

  /* ---------- drawing, at most once a frame ---------- */

  function schedule() {
    if (drawPending) return;
    drawPending = requestAnimationFrame(() => {
      drawPending = 0;
      try {
        draw();
      } catch (e) {
        U.noteError(e && e.stack ? e.stack : String(e));
      }
    });
  }

  function draw() {
    const st = obj(store.state);
    document.body.dataset.state = str(st.state, "unknown");
    document.body.dataset.seconds = String(store.secs.size);
    if (store.maxSec != null) document.body.dataset.lastSecond = String(store.maxSec);
    U.chartGroup.long = (num(store.last() && store.last().t) || 0) >= 120;
    U.chartGroup.markers = () => store.markers;
    drawHeader(st);
    drawControls(st);
    drawNotices(st);
    drawFigures(st);
    drawTabs();
    PANELS[tab].draw();
    document.body.dataset.drawn = String(store.version);
  }

  /* ---------- header ---------- */

  const STATE_WORDS = {
    waiting: ["Waiting", "set the load and press Start"],
    running: ["Running", ""],
    stopping: ["Stopping", "users are finishing"],
    stopped: ["Stopped", "download the outputs, then Quit"],
  };

  function drawHeader(st) {
    const s = str(st.state, "");
    const words = STATE_WORDS[s] || [loadError ? "No state" : "…", loadError ? "the server did not answer" : "connecting"];
    $("state-block").className = "state-block " + (s || "unknown");
    $("state-word").textContent = words[0];
    const last = store.last();
    const elapsed = Math.max(num(st.elapsed_s) || 0, last ? last.t : 0);
    /* a start set ahead (a coordinator's, --start-at): not begun when the state was said */
    const ahead = !last && num(st.elapsed_s) != null && st.elapsed_s < 0;
    $("state-why").textContent = s === "running" ? (ahead ? "starting at " + String(st.started_at || "").slice(11, 19) + "Z" : "for " + fmtDuration(elapsed)) : ended ? "surge has exited" : words[1];

    const conn = $("conn");
    const connText = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", closed: "disconnected", ended: "the run has ended" }[connection];
    fill(conn, h("span", { class: "dot", "aria-hidden": "true" }), connText || connection);
    conn.className = "conn " + connection;

    const target = $("target");
    const scenario = str(st.scenario, null);
    const url = str(st.url, null);
    fill(target, scenario ? [h("span", { class: "method" }, "LUA"), h("span", { class: "url" }, scenario + (url ? " → " + url : ""))]
      : url ? [str(st.method, null) ? h("span", { class: "method" }, st.method) : null, h("span", { class: "url" }, url)] : h("span", { class: "url" }, "load test"));

    const meta = [];
    if (st.model) meta.push(["model", st.model]);
    if (st.model === "open") meta.push(["rate", num(st.rate) != null ? fmtRate(st.rate) : "—"]);
    else if (num(st.users) != null) meta.push(["users", fmtInt(st.users) + (num(st.spawn_rate) > 0 ? " at " + fmtNum(st.spawn_rate) + "/s" : "")]);
    meta.push(["elapsed", s === "waiting" ? "—" : fmtDuration(elapsed)]);
    if (st.started_at) meta.push(["started", String(st.started_at).replace("T", " ").replace(/\.\d+/, "")]);
    const ths = arr(st.thresholds).filter(isObj);
    const metaEl = fill($("meta"), meta.map((m) => h("span", null, h("b", null, m[0]), m[1])));
    if (ths.length) {
      const failing = ths.filter((t) => t.ok === false).length;
      const holding = ths.filter((t) => t.ok === true).length;
      metaEl.append(failing ? pill(failing + " of " + ths.length + " thresholds failing", "fail")
        : holding ? pill(holding + " of " + ths.length + " thresholds holding", "pass") : pill(ths.length + " thresholds, no verdict yet", ""));
    }
    document.title = (words[0] === "…" ? "" : words[0] + " · ") + "surge live" + (url ? " · " + url : "");
  }

  /* ---------- controls ---------- */

  function ctl(st, name) {
    const c = obj(obj(st.controls)[name]);
    return { enabled: c.enabled === true, reason: str(c.reason, "") };
  }

  /* A button for a control; a disabled one says why, in text beside it. */
  function controlButton(st, name, label, cls, onClick) {
    const c = ctl(st, name);
    const b = h("button", { type: "button", class: "btn " + (cls || ""), "data-control": name, disabled: !c.enabled, "aria-describedby": c.enabled || !c.reason ? null : "why-" + name }, label);
    b.addEventListener("click", () => onClick(b));
    return h("span", { class: "control" }, b, !c.enabled && c.reason ? h("span", { class: "reason", id: "why-" + name }, c.reason) : null);
  }

  function numberField(id, label, value, min, step, suffix, disabled, max) {
    const input = h("input", { id, type: "number", min: String(min), max: max != null ? String(max) : null, step: step, value: value == null ? "" : String(value), required: true, disabled: !!disabled, inputmode: "decimal" });
    return h("label", { class: "field", for: id }, h("span", null, label), h("span", { class: "with-unit" }, input, suffix ? h("span", { class: "unit" }, suffix) : null));
  }

  function readNumber(id, what, min) {
    const el = $(id);
    const v = el ? Number(el.value) : NaN;
    if (!el || el.value === "" || !isFinite(v) || v < min) {
      showControlError(what + ": enter a number of at least " + min);
      if (el) el.focus();
      return null;
    }
    return v;
  }

  function drawControls(st) {
    const s = str(st.state, "");
    const sig = JSON.stringify([s, st.model, st.controls, arr(st.classes).map((c) => c && c.name), ended, !!loadError]);
    if (sig === controlsSig) return;
    controlsSig = sig;
    const box = $("controls");
    const open = st.model === "open";
    const parts = [];
    if (ended) {
      fill(box, h("div", { class: "row" }, h("span", { class: "reason" }, "surge wrote its outputs and exited; this page keeps what it showed.")));
      return;
    }
    if (s === "waiting") {
      const start = ctl(st, "start");
      const form = h("form", { class: "start-form", "aria-label": "Start a test" });
      const row = h("div", { class: "row" });
      if (open) row.append(numberField("f-rate", "Rate", num(st.rate) || 100, 0.1, "any", "req/s", !start.enabled));
      else row.append(numberField("f-users", "Users", num(st.users) || 10, 1, "1", null, !start.enabled, num(st.users_max)), numberField("f-spawn", "Spawn rate", num(st.spawn_rate) || 1, 0.1, "any", "users/s", !start.enabled));
      const host = ctl(st, "host");
      const hostInput = h("input", { id: "f-host", type: "url", value: str(st.url, ""), disabled: !host.enabled || !start.enabled, spellcheck: "false" });
      row.append(h("label", { class: "field grow", for: "f-host" }, h("span", null, "Host"), hostInput, !host.enabled && host.reason ? h("span", { class: "reason" }, host.reason) : null));
      form.append(row);
      const classes = arr(st.classes).filter(isObj);
      if (classes.length) {
        const cc = ctl(st, "classes");
        const list = h("fieldset", { class: "classes", disabled: !cc.enabled || !start.enabled }, h("legend", null, "User classes and weights"));
        classes.forEach((c, i) => {
          const name = String(c.name);
          list.append(h("span", { class: "class" },
            h("input", { type: "checkbox", id: "f-class-" + i, checked: num(c.weight) !== 0, "data-class": name }),
            h("label", { for: "f-class-" + i }, name),
            h("input", { type: "number", min: "0", step: "any", value: String(num(c.weight) || 1), "aria-label": "weight of " + name, "data-weight": name })));
        });
        if (!cc.enabled && cc.reason) list.append(h("span", { class: "reason" }, cc.reason));
        form.append(list);
      }
      const go = h("button", { type: "submit", class: "btn primary", "data-control": "start", disabled: !start.enabled }, "Start");
      form.append(h("div", { class: "row" }, h("span", { class: "control" }, go, !start.enabled && start.reason ? h("span", { class: "reason" }, start.reason) : null),
        ctl(st, "quit").enabled ? controlButton(st, "quit", "Quit", "danger", (b) => control("quit", {}, b)) : null));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const body = {};
        if (open) {
          const rate = readNumber("f-rate", "Rate", 0.1);
          if (rate == null) return;
          body.rate = rate;
        } else {
          const users = readNumber("f-users", "Users", 1);
          const spawn = users == null ? null : readNumber("f-spawn", "Spawn rate", 0.1);
          if (users == null || spawn == null) return;
          body.users = users;
          body.spawn_rate = spawn;
          lastSpawn = spawn;
        }
        if (host.enabled && hostInput.value.trim() && hostInput.value.trim() !== str(st.url, "")) body.host = hostInput.value.trim();
        if (classes.length && ctl(st, "classes").enabled) {
          /* every class with its weight; one not ticked (or weighing 0) is left out */
          const picked = {};
          for (const cb of form.querySelectorAll("input[data-class]")) {
            const w = form.querySelector('input[data-weight="' + CSS.escape(cb.dataset.class) + '"]');
            const v = Number(w && w.value); /* surge rounds it as the file's: 0.3 is 1 */
            picked[cb.dataset.class] = cb.checked && isFinite(v) && v > 0 ? v : 0;
          }
          if (!Object.values(picked).some((w) => w > 0)) {
            showControlError("Pick at least one user class.");
            return;
          }
          body.classes = picked;
        }
        control("start", body, go);
      });
      parts.push(form);
    } else if (s === "running" || s === "stopping") {
      const load = ctl(st, "load");
      const form = h("form", { class: "load-form row", "aria-label": "Change the load" });
      if (open) form.append(numberField("f-rate", "Rate", num(st.rate), 0.1, "any", "req/s", !load.enabled));
      else form.append(numberField("f-users", "Users", num(st.users), 0, "1", null, !load.enabled, num(st.users_max)), numberField("f-spawn", "Spawn rate", num(st.spawn_rate) || lastSpawn || 1, 0.1, "any", "users/s", !load.enabled));
      const apply = h("button", { type: "submit", class: "btn", "data-control": "load", disabled: !load.enabled }, "Apply");
      form.append(h("span", { class: "control" }, apply, !load.enabled && load.reason ? h("span", { class: "reason" }, load.reason) : null));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        let body;
        if (open) {
          const rate = readNumber("f-rate", "Rate", 0.1);
          if (rate == null) return;
          body = { rate };
        } else {
          const users = readNumber("f-users", "Users", 0);
          const spawn = users == null ? null : readNumber("f-spawn", "Spawn rate", 0.1);
          if (users == null || spawn == null) return;
          body = { users, spawn_rate: spawn };
          lastSpawn = spawn;
        }
        control("load", body, apply);
      });
      parts.push(form, h("div", { class: "row" },
        controlButton(st, "stop", "Stop", "danger", (b) => control("stop", {}, b)),
        controlButton(st, "reset", "Reset statistics", "", (b) => control("reset", {}, b))));
    } else if (s === "stopped") {
      parts.push(h("div", { class: "row" }, controlButton(st, "quit", "Quit", "danger", (b) => control("quit", {}, b))));
    }
    if (s && s !== "waiting") parts.push(downloads(s === "stopped"));
    fill(box, parts);
  }

  function downloads(prominent) {
    return h("div", { class: "downloads" + (prominent ? " prominent" : ""), role: "group", "aria-label": "Downloads" },
      h("span", { class: "label" }, prominent ? "Outputs" : "Download so far"),
      DOWNLOADS.map((d) => h("a", { class: "btn small", href: "/api/" + d[0], download: "", title: d[2], "data-download": d[0] }, d[1])));
  }

  /* ---------- notices: what the page does not have, said plainly ---------- */

  function drawNotices(st) {
    const list = [];
    const note = (kind, title, text) => list.push(h("div", { class: "alert " + kind }, h("div", { class: "icon", "aria-hidden": "true" }, kind === "fail" ? "×" : "!"), h("div", null, h("b", null, title), text)));
    if (loadError) note("fail", "The run's state could not be read", loadError + ". The page follows the events anyway.");
    const hist = store.history;
    const truncated = (hist && num(hist.first_id) > 1) || store.missed > 0;
    if (truncated && store.minSec != null) {
      note("warn", "This page has the run from second " + store.minSec,
        "The server keeps a bounded history of events" + (hist && num(hist.history_max_bytes) ? " (" + U.fmtBytes(hist.history_max_bytes) + ")" : "") +
        " and had dropped " + (store.missed > 0 ? fmtInt(store.missed) + " event(s) this page missed" : "the earliest ones") +
        ". The tables and totals are the whole run's; the charts start at second " + store.minSec + ".");
    }
    const gaps = store.gaps();
    if (gaps.length) {
      const text = gaps.slice(0, 5).map((g) => (g[0] === g[1] ? "second " + g[0] : "seconds " + g[0] + "–" + g[1])).join(", ") + (gaps.length > 5 ? ", …" : "");
      note("warn", "Missing seconds", "The page never received " + text + " (the charts show a gap there).");
    }
    const d = obj(store.dropped);
    if (num(d.endpoints) > 0) note("warn", "More endpoints than the generator keeps", fmtInt(d.endpoints) + " requests were counted under the last name kept (the run keeps at most its first names; see surge help run).");
    if (num(d.deltas_lost) > 0 || num(d.points) > 0 || num(d.tallies) > 0)
      note("warn", "A bound was hit", ["deltas_lost", "points", "tallies"].filter((k) => num(d[k]) > 0).map((k) => U.human(k) + " " + fmtInt(d[k])).join(", ") + ": figures not kept for lack of memory.");
    if (store.epFloor != null) note("info", "Per-endpoint charts from second " + store.epFloor, "The page keeps a bounded number of endpoint-seconds in memory; the oldest went first. The endpoint table is whole.");
    fill($("notices"), list);
  }

  /* ---------- key figures ---------- */

  function figure(name, label, value, sub, kind) {
    return h("div", { class: "figure " + (kind || ""), "data-figure": name }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), h("div", { class: "sub" }, sub || "\u00a0"));
  }

  function drawFigures(st) {
    const last = store.last();
    const total = obj(store.total);
    const tl = obj(total.latency_ms);
    const open = st.model === "open";
    const ms = (v) => fmtMs(v);
    const cards = [];
    if (open) cards.push(figure("rate", "Rate", last ? fmtRateShort(last.target) : num(st.rate) != null ? fmtRate(st.rate) : "—", last ? fmtInt(last.users) + " connections" : "asked"));
    else cards.push(figure("users", "Users", last ? fmtInt(last.users) : "—", last && last.target != null ? "target " + fmtInt(last.target) : num(st.users) != null ? "asked " + fmtInt(st.users) : null));
    cards.push(figure("rps", "Requests/s", last ? fmtRateShort(last.rps) : "—", num(total.rps) != null ? "run " + fmtRateShort(total.rps) : "last second"));
    const bad = num(total.error_rate) > 0;
    cards.push(figure("errors", "Errors", fmtPct(total.error_rate), last ? "last second " + fmtPct(last.error_rate) : "of the run", bad ? "fail" : ""));
    cards.push(figure("p50", "p50", last ? ms(last.p50) : "—", "run " + ms(tl.p50)));
    cards.push(figure("p95", "p95", last ? ms(last.p95) : "—", "run " + ms(tl.p95)));
    cards.push(figure("p99", "p99", last ? ms(last.p99) : "—", "run " + ms(tl.p99)));
    cards.push(figure("max", "Max", last ? ms(last.max) : "—", "run " + ms(tl.max)));
    cards.push(figure("requests", "Requests", fmtInt(total.requests), num(total.errors) != null ? fmtInt(total.errors) + " errors" : null));
    fill($("figures"), cards);
  }

  /* ---------- tabs ---------- */

  const TABS = [
    ["charts", "Charts"], ["endpoints", "Endpoints"], ["failures", "Failures"], ["checks", "Checks & metrics"],
    ["thresholds", "Thresholds"], ["generator", "Generator"], ["target", "Target"], ["shards", "Shards"],
  ];
  /* the Shards tab is a coordinator's (surge run --coordinator) */
  const shown = (name) => name !== "shards" || !!store.shards;
  const shownTabs = () => TABS.filter((t) => shown(t[0]));

  function tabBadge(name) {
    const st = obj(store.state);
    if (name === "endpoints") return store.endpoints.size ? fmtInt(store.endpoints.size) : null;
    if (name === "failures") {
      const e = num(obj(store.total).errors);
      return e ? fmtInt(e) : null;
    }
    if (name === "shards" && store.shards) {
      const list = arr(store.shards.shards).filter(isObj);
      const lost = list.filter((s) => s.state === "lost").length;
      return lost ? lost + " lost" : list.length + "/" + fmtInt(store.shards.expected);
    }
    if (name === "thresholds") {
      const ths = arr(st.thresholds).filter(isObj);
      const judged = ths.filter((t) => t.ok === true || t.ok === false).length;
      return ths.length ? (judged ? ths.filter((t) => t.ok === true).length + "/" : "") + ths.length : null;
    }
    return null;
  }

  let tabButtons = null;
  function drawTabs() {
    const nav = $("tabs");
    if (!tabButtons) {
      tabButtons = {};
      for (const [name, label] of TABS) {
        const b = h("button", { type: "button", role: "tab", id: "tab-" + name, "aria-controls": "panel-" + name, "data-tab": name }, h("span", null, label), h("span", { class: "badge" }));
        b.addEventListener("click", () => openTab(name));
        b.addEventListener("keydown", (e) => {
          const tabs = shownTabs();
          const i = tabs.findIndex((t) => t[0] === name);
          let j = null;
          if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
          if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
          if (e.key === "Home") j = 0;
          if (e.key === "End") j = tabs.length - 1;
          if (j != null) {
            e.preventDefault();
            openTab(tabs[j][0]);
            tabButtons[tabs[j][0]].focus();
          }
        });
        tabButtons[name] = b;
        nav.append(b);
      }
      for (const [name] of TABS) $("panels").append(PANELS[name].el);
    }
    for (const [name] of TABS) {
      const b = tabButtons[name];
      const on = name === tab;
      b.hidden = !shown(name);
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      const badge = tabBadge(name);
      const el = b.lastChild;
      el.textContent = badge || "";
      el.hidden = !badge;
      PANELS[name].el.hidden = !on;
    }
  }

  function openTab(name) {
    if (!PANELS[name]) return;
    tab = name;
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    drawTabs();
    PANELS[name].draw();
    requestAnimationFrame(() => U.resizeAllCharts());
  }

  function panel(name) {
    return h("section", { class: "panel", id: "panel-" + name, role: "tabpanel", "aria-labelledby": "tab-" + name, tabindex: "0" });
  }
  function card(title, sub) {
    const c = h("div", { class: "card" }, title ? h("h3", null, title, sub ? h("span", { class: "sub" }, sub) : null) : null);
    for (let i = 2; i < arguments.length; i++) U.add(c, arguments[i]);
    return c;
  }
  function empty(text) {
    return h("p", { class: "empty" }, text);
  }
  function table(cols, rows, cls) {
    return h("div", { class: "table-wrap" }, h("table", { class: cls || null },
      h("thead", null, h("tr", null, cols.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.label)))),
      h("tbody", null, rows.map((r) => h("tr", null, r.map((cell, i) => h("td", { class: (cols[i] && cols[i].num ? "num" : cols[i] && cols[i].cls) || null }, cell == null ? "—" : cell)))))));
  }

  /* ---------- a set of charts that follows the store ---------- */

  /* defs: [{name, title, hint, yFmt, series: () => [{key, label, color, get(row), fmt, fill, dash}]}]
   * A chart is made again when its series change (a new status code appears). */
  function ChartSet(container, defs, columns) {
    this.container = container;
    this.defs = defs;
    this.columns = columns || ((getters) => store.columns(getters));
    this.items = defs.map((d) => {
      const cc = U.chartCard(d.title, d.hint, d.name);
      container.append(cc.card);
      return { def: d, cc, chart: null, sig: "" };
    });
  }
  ChartSet.prototype.draw = function () {
    for (const it of this.items) {
      const series = it.def.series();
      const sig = series.map((s) => s.key).join("|");
      if (!series.length) {
        if (it.chart) it.chart.destroy();
        it.chart = null;
        it.sig = "";
        fill(it.cc.host, empty(it.def.none || "Nothing yet."));
        continue;
      }
      if (sig !== it.sig) {
        if (it.chart) it.chart.destroy();
        it.cc.host.replaceChildren();
        it.chart = new U.LiveChart(it.cc.host, { name: it.def.name, yFmt: it.def.yFmt, height: it.def.height, headroom: it.def.headroom, series });
        it.sig = sig;
      }
      it.chart.setData(this.columns(series.map((s) => s.get)));
    }
  };
  ChartSet.prototype.destroy = function () {
    for (const it of this.items) if (it.chart) it.chart.destroy();
  };
  ChartSet.prototype.chart = function (name) {
    const it = this.items.find((i) => i.def.name === name);
    return it && it.chart;
  };

  const C = U.COLORS;
  const rate = (v) => fmtRate(v);

  function codeSeries() {
    const codes = Array.from(store.codes).sort();
    const perClass = {};
    return codes.map((code) => {
      const k = String(code)[0];
      perClass[k] = (perClass[k] || 0) + 1;
      return { key: "code" + code, label: String(code), color: U.codeColor(code, perClass[k] - 1), get: (r) => (r.codes[code] || 0) / r.len, fmt: rate };
    });
  }
  /* the error kinds, and responses with a status of 400 or more (errors too, by status) */
  function kindSeries() {
    const out = Array.from(store.kinds).sort().map((k, i) => ({ key: "kind" + k, label: U.human(k), color: C.kinds[(i + 1) % C.kinds.length], get: (r) => (r.kinds[k] || 0) / r.len, fmt: rate }));
    if (Array.from(store.codes).some((c) => Number(c) >= 400))
      out.unshift({ key: "http", label: "status ≥ 400", color: C.kinds[0], get: (r) => Object.keys(r.codes).reduce((a, c) => a + (Number(c) >= 400 ? r.codes[c] : 0), 0) / r.len, fmt: rate });
    return out;
  }

  const RUN_CHARTS = [
    { name: "rps", title: "Requests per second", hint: "drag to zoom, double-click for the whole run", yFmt: fmtNum, series: () => [
      { key: "rps", label: "requests/s", color: C.rps, fill: true, get: (r) => r.rps, fmt: rate },
      { key: "errps", label: "errors/s", color: C.errors, get: (r) => r.errps, fmt: rate }] },
    { name: "latency", title: "Latency", hint: "per second, from its histogram", yFmt: fmtMs, series: () => ["p50", "p90", "p95", "p99", "max"].map((p) => (
      { key: p, label: p, color: C[p], width: p === "max" ? 1 : 2, dash: p === "max" ? [3, 3] : null, get: (r) => r[p] })) },
    { name: "users", title: "Users", hint: "open connections and the users asked", yFmt: fmtNum, open: false, series: () => [
      { key: "users", label: "users", color: C.users, fill: true, get: (r) => r.users, fmt: fmtInt },
      { key: "target", label: "target", color: C.target, dash: [6, 4], get: (r) => r.target, fmt: fmtInt }] },
    { name: "rate", title: "Rate", hint: "arrivals asked and achieved; late and dropped", yFmt: fmtNum, open: true, series: () => [
      { key: "target", label: "asked", color: C.target, dash: [6, 4], get: (r) => r.target, fmt: rate },
      { key: "rps", label: "achieved", color: C.rps, fill: true, get: (r) => r.rps, fmt: rate },
      { key: "late", label: "late/s", color: C.late, get: (r) => r.lateps, fmt: rate },
      { key: "dropped", label: "dropped/s", color: C.dropped, get: (r) => r.droppedps, fmt: rate }] },
    { name: "codes", title: "Status codes", hint: "responses per second by code", yFmt: fmtNum, none: "No response yet.", series: codeSeries },
    { name: "kinds", title: "Errors by kind", hint: "per second", yFmt: fmtNum, none: "No error so far.", series: kindSeries },
  ];

  /* ---------- panels ---------- */

  const PANELS = {};

  PANELS.charts = (function () {
    const el = panel("charts");
    const waiting = h("div", { class: "card waiting-card" });
    const grid = h("div", { class: "grid-2" });
    const markers = h("div", { class: "card markers" });
    el.append(waiting, grid, markers);
    let set = null;
    let model = null;
    return {
      el,
      draw() {
        const st = obj(store.state);
        const m = st.model === "open" ? "open" : "closed";
        if (m !== model) {
          if (set) set.destroy();
          grid.replaceChildren();
          set = new ChartSet(grid, RUN_CHARTS.filter((d) => d.open == null || d.open === (m === "open")));
          model = m;
        }
        const none = store.secs.size === 0;
        waiting.hidden = !none;
        grid.hidden = none;
        if (none) fill(waiting, h("h3", null, st.state === "waiting" ? "Waiting for Start" : "No second measured yet"),
          h("p", { class: "note" }, st.state === "waiting" ? "Set the load above and press Start: the charts fill in once a second." : "The first second shows once every generator thread has handed it over."));
        set.draw();
        const list = store.markers.filter((mk) => mk.t != null);
        markers.hidden = !list.length;
        if (list.length) fill(markers, h("h3", null, "Markers", h("span", { class: "sub" }, "drawn on every chart")),
          h("ol", { class: "marker-list" }, list.slice(-50).map((mk) => h("li", null, h("b", null, U.fmtClock(mk.t, true)), " ", mk.what))));
      },
      set: () => set,
    };
  })();

  /* an endpoint's rps in the last second drawn (0: no request then) */
  function rpsIn(key, sec) {
    const hist = store.epHist.get(key);
    if (!hist || sec == null) return 0;
    for (let i = hist.length - 1; i >= 0 && hist[i][0] >= sec; i--) if (hist[i][0] === sec) return hist[i][2];
    return 0;
  }

  function endpointRows() {
    const last = store.endSec();
    return Array.from(store.endpoints.values(), (e) => {
      const t = obj(e.total);
      const l = obj(t.latency_ms);
      return {
        key: e.key, method: e.method, name: e.name,
        requests: num(t.requests), errors: num(t.errors), error_rate: num(t.error_rate), rps: num(t.rps),
        now: rpsIn(e.key, last),
        p50: num(l.p50), p95: num(l.p95), p99: num(l.p99), max: num(l.max),
        codes: obj(t.status_codes),
      };
    });
  }

  function codesCell(codes) {
    const entries = Object.entries(codes).sort((a, b) => b[1] - a[1]);
    if (!entries.length) return "—";
    const span = h("span", { class: "codes" });
    entries.slice(0, 4).forEach((c, i) => span.append(i ? " " : "", h("span", { class: "code " + U.codeClass(c[0]) }, c[0]), "\u00a0" + fmtInt(c[1])));
    if (entries.length > 4) span.append(" +" + (entries.length - 4));
    return span;
  }

  PANELS.endpoints = (function () {
    const el = panel("endpoints");
    const detail = h("div", { class: "card endpoint-detail", hidden: true, "aria-live": "polite" });
    const select = (r) => {
      selected = r.key;
      detailSet = null;
      draw();
      detail.scrollIntoView({ block: "nearest" });
    };
    const nameButton = (r) => {
      const b = h("button", { type: "button", class: "link", title: r.method + " " + r.name }, U.cut(r.name, 160));
      b.addEventListener("click", () => select(r));
      return b;
    };
    const ms = (k) => ({ key: k, label: k, num: true, value: (r) => r[k], cell: (r) => fmtMs(r[k]) });
    const vt = new U.VirtualTable({
      name: "endpoints", unit: "endpoints", rowKey: (r) => r.key, selected: () => selected, onSelect: select,
      filterText: (r) => r.method + " " + r.name, defaultSort: { key: "name", desc: false },
      empty: "No endpoint yet: they appear with their first request.",
      cols: [
        { key: "method", label: "method", value: (r) => r.method, cell: (r) => r.method, cls: "method" },
        { key: "name", label: "name", value: (r) => r.name, cell: nameButton, cls: "name" },
        { key: "requests", label: "requests", num: true, value: (r) => r.requests, cell: (r) => fmtInt(r.requests) },
        { key: "errors", label: "errors", num: true, value: (r) => r.errors, cell: (r) => fmtInt(r.errors), bad: (r) => r.errors > 0 },
        { key: "error_rate", label: "error %", num: true, value: (r) => r.error_rate, cell: (r) => fmtPct(r.error_rate), bad: (r) => r.error_rate > 0 },
        { key: "rps", label: "rps", num: true, value: (r) => r.rps, cell: (r) => fmtNum(r.rps), title: () => "over the run so far" },
        { key: "now", label: "rps now", num: true, value: (r) => r.now, cell: (r) => fmtNum(r.now), title: () => "in the last second" },
        ms("p50"), ms("p95"), ms("p99"), ms("max"),
        { key: "codes", label: "status codes", value: (r) => Object.keys(r.codes).join(","), cell: (r) => codesCell(r.codes), cls: "codes-col" },
      ],
      summary: () => {
        const t = obj(store.total);
        if (!store.total) return null;
        const l = obj(t.latency_ms);
        const last = store.last();
        return ["", "All endpoints", fmtInt(t.requests), fmtInt(t.errors), fmtPct(t.error_rate), fmtNum(t.rps), last ? fmtNum(last.rps) : "—",
          fmtMs(l.p50), fmtMs(l.p95), fmtMs(l.p99), fmtMs(l.max), codesCell(obj(t.status_codes))];
      },
    });
    el.append(detail, card(null, null, vt.el));
    let detailSet = null;
    let detailKey = null;

    function drawDetail() {
      const ep = selected && store.endpoints.get(selected);
      detail.hidden = !ep;
      if (!ep) return;
      if (!detailSet || detailKey !== selected) {
        if (detailSet) detailSet.destroy();
        const close = h("button", { type: "button", class: "btn small", "aria-label": "Close the endpoint's charts" }, "Close");
        close.addEventListener("click", () => {
          selected = null;
          detailSet.destroy();
          detailSet = null;
          draw();
        });
        const figs = h("div", { class: "mini-figures" });
        const grid = h("div", { class: "grid-2" });
        fill(detail, h("h3", null, h("span", null, h("span", { class: "method-badge" }, ep.method), " ", h("span", { class: "mono" }, U.cut(ep.name, 200))), close), figs, grid);
        const key = selected;
        detailSet = new ChartSet(grid, [
          { name: "ep-rps", title: "Requests and errors per second", yFmt: fmtNum, series: () => [
            { key: "rps", label: "requests/s", color: C.rps, fill: true, get: 1, fmt: rate },
            { key: "errps", label: "errors/s", color: C.errors, get: 2, fmt: rate }] },
          { name: "ep-latency", title: "Latency", hint: "per second, from its histogram", yFmt: fmtMs, series: () => [
            { key: "p50", label: "p50", color: C.p50, get: 3 }, { key: "p95", label: "p95", color: C.p95, get: 4 },
            { key: "p99", label: "p99", color: C.p99, get: 5 }, { key: "max", label: "max", color: C.max, width: 1, dash: [3, 3], get: 6 }] },
        ], (getters) => {
          const cols = store.endpointColumns(key);
          return [cols[0]].concat(getters.map((i) => cols[i]));
        });
        detailSet.figs = figs;
        detailKey = selected;
      }
      const t = obj(ep.total);
      const l = obj(t.latency_ms);
      fill(detailSet.figs, [["requests", fmtInt(t.requests)], ["errors", fmtInt(t.errors) + " (" + fmtPct(t.error_rate) + ")"], ["rps", fmtRate(t.rps)],
        ["p50", fmtMs(l.p50)], ["p95", fmtMs(l.p95)], ["p99", fmtMs(l.p99)], ["max", fmtMs(l.max)]].map((f) => h("span", null, h("b", null, f[0]), f[1])),
        h("span", { class: "codes-line" }, codesCell(obj(t.status_codes))));
      detailSet.draw();
    }

    function draw() {
      vt.setRows(endpointRows());
      drawDetail();
    }
    return { el, draw, table: vt, detail: () => detailSet };
  })();

  PANELS.failures = (function () {
    const el = panel("failures");
    const top = h("div", { class: "grid-2" });
    const byEp = new U.VirtualTable({
      name: "http-errors", unit: "rows", rowKey: (r) => r.key, filterText: (r) => r.method + " " + r.name + " " + r.code,
      defaultSort: { key: "count", desc: true }, empty: "No response with a status of 400 or more.",
      cols: [
        { key: "method", label: "method", value: (r) => r.method, cell: (r) => r.method, cls: "method" },
        { key: "name", label: "name", value: (r) => r.name, cell: (r) => U.cut(r.name, 160), cls: "name", title: (r) => r.name },
        { key: "code", label: "status", num: true, value: (r) => Number(r.code), cell: (r) => h("span", { class: "code " + U.codeClass(r.code) }, r.code) },
        { key: "count", label: "count", num: true, value: (r) => r.count, cell: (r) => fmtInt(r.count) },
        { key: "share", label: "share", num: true, value: (r) => r.share, cell: (r) => fmtPct(r.share), title: () => "of the endpoint's requests" },
      ],
    });
    const below = h("div", { class: "grid-2" });
    el.append(top, h("h2", null, "HTTP errors by endpoint"), card(null, null, byEp.el), below);
    return {
      el,
      draw() {
        const t = obj(store.total);
        const requests = num(t.requests) || 0;
        const kinds = Object.entries(obj(t.errors_by_kind)).filter((e) => num(e[1]) > 0).sort((a, b) => b[1] - a[1]);
        const codes = Object.entries(obj(t.status_codes)).sort((a, b) => Number(a[0]) - Number(b[0]));
        const responses = codes.reduce((a, c) => a + (num(c[1]) || 0), 0) || 1;
        fill(top,
          card("Errors by kind", fmtInt(t.errors) + " errors in " + fmtInt(requests) + " requests",
            kinds.length ? table([{ label: "kind" }, { label: "count", num: true }, { label: "of requests", num: true }, { label: "" }],
              kinds.map((k) => [U.human(k[0]), fmtInt(k[1]), fmtPct(requests ? k[1] / requests : 0), U.shareBar(requests ? k[1] / requests : 0, "c5")])) : empty("No transport error, failed check or script error.")),
          card("Status codes", "every response",
            codes.length ? table([{ label: "code" }, { label: "count", num: true }, { label: "share", num: true }, { label: "" }],
              codes.map((c) => [h("span", { class: "code " + U.codeClass(c[0]) }, c[0]), fmtInt(c[1]), fmtPct(c[1] / responses), U.shareBar(c[1] / responses, U.codeClass(c[0]))])) : empty("No response yet.")));
        const rows = [];
        for (const e of store.endpoints.values()) {
          const et = obj(e.total);
          for (const [code, n] of Object.entries(obj(et.status_codes)))
            if (Number(code) >= 400) rows.push({ key: e.key + " " + code, method: e.method, name: e.name, code, count: n, share: num(et.requests) ? n / et.requests : null });
        }
        byEp.setRows(rows);
        const scriptErrors = store.tallyList("script_error").sort((a, b) => (b.count || 0) - (a.count || 0));
        const failed = store.tallyList("check").filter((c) => num(c.fails) > 0).sort((a, b) => b.fails - a.fails);
        fill(below,
          card("Script errors", "iterations a Lua error ended",
            scriptErrors.length ? table([{ label: "message", cls: "name" }, { label: "count", num: true }], scriptErrors.map((s) => [U.cut(s.name, 400), fmtInt(s.count)])) : empty("None.")),
          card("Failed checks", null,
            failed.length ? table([{ label: "check", cls: "name" }, { label: "fails", num: true }, { label: "passes", num: true }], failed.map((c) => [c.name, fmtInt(c.fails), fmtInt(c.passes)])) : empty("None.")));
      },
    };
  })();

  PANELS.checks = (function () {
    const el = panel("checks");
    return {
      el,
      draw() {
        const checks = store.tallyList("check").sort((a, b) => String(a.name).localeCompare(String(b.name)));
        const counters = store.tallyList("counter").sort((a, b) => String(a.name).localeCompare(String(b.name)));
        const trends = store.tallyList("trend").sort((a, b) => String(a.name).localeCompare(String(b.name)));
        const parts = [card("Checks", checks.length ? checks.length + " checks" : null, checks.length
          ? table([{ label: "check", cls: "name" }, { label: "passes", num: true }, { label: "fails", num: true }, { label: "pass rate", num: true }, { label: "" }],
            checks.map((c) => {
              const p = num(c.passes) || 0;
              const f = num(c.fails) || 0;
              const r = p + f ? p / (p + f) : null;
              return [c.name, fmtInt(p), f ? h("span", { class: "bad" }, fmtInt(f)) : "0", r == null ? "—" : fmtPct(r), r == null ? "" : U.shareBar(r, f ? "c2 split" : "c2")];
            }))
          : empty("No check so far (a scenario's u:check)."))];
        const side = [];
        side.push(card("Counters", null, counters.length ? table([{ label: "name", cls: "name" }, { label: "value", num: true }], counters.map((c) => [c.name, fmtNum(c.value)])) : empty("No counter so far.")));
        side.push(card("Trends", "values as added", trends.length ? table([{ label: "name", cls: "name" }, { label: "count", num: true }, { label: "p50", num: true }, { label: "p95", num: true }, { label: "max", num: true }],
          trends.map((t) => [t.name, fmtInt(t.count), fmtNum(t.p50), fmtNum(t.p95), fmtNum(t.max)])) : empty("No trend so far.")));
        fill(el, h("div", { class: "grid-2" }, parts, h("div", { class: "stack" }, side)));
      },
    };
  })();

  function thresholdValue(expr, v) {
    if (num(v) == null) return "—";
    const metric = String(expr).split(/[<>=!]/)[0].split(":").pop().trim().toLowerCase();
    if (metric === "error_rate") return fmtPct(v);
    if (metric === "rps") return fmtRate(v);
    if (/^(p\d+(\.\d+)?|max|min|mean|med|avg)$/.test(metric)) return fmtMs(v);
    return fmtNum(v);
  }

  PANELS.thresholds = (function () {
    const el = panel("thresholds");
    return {
      el,
      draw() {
        const ths = arr(obj(store.state).thresholds).filter(isObj);
        fill(el, card("Thresholds", ths.length ? "the verdict so far, as the final result will judge it" : null, ths.length
          ? table([{ label: "threshold" }, { label: "measured", num: true }, { label: "verdict", num: true }],
            ths.map((t) => [h("code", null, String(t.expr)), thresholdValue(t.expr, t.value), pill(t.ok === true ? "holding" : t.ok === false ? "failing" : "not yet", t.ok === true ? "pass" : t.ok === false ? "fail" : "")]))
          : empty("No threshold was set (--threshold 'p95<200ms').")));
      },
    };
  })();

  PANELS.generator = (function () {
    const el = panel("generator");
    const figs = h("div", { class: "card" });
    const grid = h("div", { class: "grid-2" });
    const bounds = h("div", { class: "card" });
    el.append(figs, grid, bounds);
    let set = null;
    let model = null;
    return {
      el,
      draw() {
        const open = obj(store.state).model === "open";
        if (set && model !== open) {
          set.destroy();
          grid.replaceChildren();
          set = null;
        }
        model = open;
        if (!set) set = new ChartSet(grid, [
          { name: "cpu", title: "Busiest generator thread", hint: "its CPU share each second", yFmt: (v) => fmtPct(v), series: () => [
            { key: "cpu", label: "busiest thread CPU", color: C.users, fill: true, get: (r) => r.cpu, fmt: fmtPct }] },
          { name: "lag", title: open ? "Schedule lag and service time" : "Service time", hint: "p99 per second", yFmt: fmtMs, series: () => (open ? [
            { key: "lag", label: "schedule lag p99", color: C.late, get: (r) => r.lag_p99 }] : []).concat([
            { key: "svc", label: "service time p99", color: C.rps, get: (r) => r.svc_p99 }]) },
        ]);
        const last = store.last();
        const st = obj(store.state);
        const cpu = last ? last.cpu : null;
        fill(figs, h("h3", null, "Self-check", h("span", { class: "sub" }, "is surge itself the bottleneck?")),
          h("div", { class: "mini-figures" },
            [["busiest thread CPU", fmtPct(cpu)], ["schedule lag p99", !open ? "open model only" : last ? fmtMs(last.lag_p99) : "—"], ["service time p99", last ? fmtMs(last.svc_p99) : "—"],
              [open ? "connections" : "users", last ? fmtInt(last.users) : "—"]].map((f) => h("span", null, h("b", null, f[0]), f[1]))),
          h("p", { class: "note" }, cpu != null && cpu > 0.9 ? "A generator thread was busy over 90 % of the last second: the figures may describe surge, not the target. Add threads (-t) or machines."
            : "A generator thread busy most of a second, or a growing schedule lag (open model), means surge is the limit, not the target."));
        set.draw();
        const d = obj(store.dropped);
        fill(bounds, h("h3", null, "Bounds and stream", h("span", { class: "sub" }, "what was not kept, and what this page received")),
          table([{ label: "" }, { label: "count", num: true }, { label: "" }], [
            ["endpoints over the limit", fmtInt(d.endpoints), "requests counted under the last name kept"],
            ["per-second points dropped", fmtInt(d.points), "the timeline's bound"],
            ["tallies dropped", fmtInt(d.tallies), "checks and metrics beyond the bound"],
            ["deltas lost", fmtInt(d.deltas_lost), "a thread's second not summed for lack of memory"],
            ["events taken", fmtInt(store.taken), "by this page, last id " + store.lastId],
            ["duplicates ignored", fmtInt(store.duplicates), "events seen again after a reconnect"],
            ["corrections", fmtInt(store.corrections), "seconds republished after a late delta"],
          ], "kv"));
      },
    };
  })();

  /* --scrape: the target's CPU and memory against its limits, second by second, under the
   * load that made them (each chart on the page's one time axis). A second's figures come a
   * second or so after the second: a sample taken after its end must be in. */
  PANELS.target = (function () {
    const el = panel("target");
    const figs = h("div", { class: "card" });
    const grid = h("div", { class: "grid-2" });
    el.append(figs, grid);
    const tg = (r, key) => {
      const t = store.targets.get(r.second);
      return t ? t[key] : null;
    };
    const cores = (v) => (num(v) == null ? "—" : fmtNum(v) + " cores");
    const bytes = (v) => U.fmtBytes(v);
    let set = null;
    return {
      el,
      draw() {
        const st = obj(store.state);
        const last = store.lastTarget;
        if (!st.scrape && !last) {
          fill(figs, h("h3", null, "The target's CPU and memory"), empty("Not scraped: run surge with --scrape http://TARGET/metrics to see the target's CPU and memory against its limits here, next to the load."));
          grid.hidden = true;
          return;
        }
        grid.hidden = false;
        const limit = last && (last.cpuLimit != null ? last.cpuLimit : last.capacity);
        const basis = last && (last.cpuLimit != null ? "its CPU limit" : last.basis === "workers" ? "its worker threads" : last.basis === "host_cores" ? "the host's cores" : "its capacity");
        fill(figs, h("h3", null, "The target", h("span", { class: "sub" }, st.scrape ? String(st.scrape) : "scraped")),
          h("div", { class: "mini-figures" },
            [["CPU", last ? cores(last.cpu) : "—"], ["of", limit != null ? cores(limit) + " (" + basis + ")" : "—"],
              ["memory", last ? bytes(last.rss) : "—"], ["memory limit", last && last.memLimit != null ? bytes(last.memLimit) : "none"],
              ["throttled", last && last.throttled != null ? fmtPct(last.throttled) : "—"], ["second", last ? U.fmtClock(last.t, true) : "—"]].map((f) => h("span", null, h("b", null, f[0]), f[1]))),
          h("p", { class: "note" }, "Each second's figures are the ones the result document will hold for it; they come a second or so after the second, once a sample taken after its end is in."));
        if (!set) set = new ChartSet(grid, [
          { name: "target-load", title: "Load", hint: "requests per second", yFmt: fmtNum, series: () => [
            { key: "rps", label: "requests/s", color: C.rps, fill: true, get: (r) => r.rps, fmt: fmtRate }] },
          { name: "target-cpu", title: "Target CPU", hint: "cores used each second, and its limit", yFmt: fmtNum, headroom: 1.4, none: "No figure yet.", series: () => [
            { key: "cpu", label: "CPU", color: C.users, fill: true, get: (r) => tg(r, "cpu"), fmt: cores },
            { key: "cpulimit", label: "limit", color: C.errors, dash: [6, 4], get: (r) => tg(r, "cpuLimit"), fmt: cores },
            { key: "capacity", label: "capacity", color: C.target, dash: [2, 4], get: (r) => tg(r, "capacity"), fmt: cores }] },
          { name: "target-memory", title: "Target memory", hint: "resident memory at each second's end, and its limit", yFmt: bytes, headroom: 1.4, none: "No figure yet.", series: () => [
            { key: "rss", label: "RSS", color: C.p90, fill: true, get: (r) => tg(r, "rss"), fmt: bytes },
            { key: "memlimit", label: "limit", color: C.errors, dash: [6, 4], get: (r) => tg(r, "memLimit"), fmt: bytes }] },
          { name: "target-throttled", title: "CPU throttled", hint: "share of the cgroup's periods held back", yFmt: fmtPct, none: "The target reports no CPU quota (surge_cgroup_cpu_periods_total).", series: () => (store.throttledSeen ? [
            { key: "throttled", label: "throttled", color: C.late, fill: true, get: (r) => tg(r, "throttled"), fmt: fmtPct }] : []) },
        ]);
        set.draw();
      },
    };
  })();

  /* A distributed run (surge run --coordinator): each shard's state and its latest second —
   * users, requests/s, errors, its busiest thread's CPU (the self-check's figure) — and, once
   * it has ended, its self-check's verdict and CPU-seconds; a lost one, from which second the
   * figures lack it. The coordinator says it once a second ("shards" events). */
  PANELS.shards = (function () {
    const el = panel("shards");
    const states = { joined: ["joined", ""], running: ["running", "pass"], done: ["done", "pass"], lost: ["lost", "fail"] };
    return {
      el,
      draw() {
        const sh = store.shards;
        if (!sh) {
          fill(el, card("Shards", null, empty("Not a distributed run: surge run --coordinator shows its shards here.")));
          return;
        }
        const list = arr(sh.shards).filter(isObj);
        const count = (s) => list.filter((x) => x.state === s).length;
        const cpu = (s) => {
          const v = num(s.busiest_cpu);
          return v == null ? null : h("span", { class: v >= 0.9 ? "bad" : null }, fmtPct(v));
        };
        fill(el, card("Shards", "the coordinator's view, once a second",
          h("div", { class: "mini-figures" },
            [["phase", String(sh.phase || "—")], ["expected", fmtInt(sh.expected)], ["joined", fmtInt(list.length)], ["running", fmtInt(count("running"))],
              ["done", fmtInt(count("done"))], ["lost", fmtInt(count("lost"))]].map((f) => h("span", null, h("b", null, f[0]), f[1]))),
          list.length ? table([{ label: "shard" }, { label: "name" }, { label: "state" }, { label: "users", num: true }, { label: "asked", num: true }, { label: "requests/s", num: true },
            { label: "errors", num: true }, { label: "busiest thread", num: true }, { label: "self-check", num: true }, { label: "CPU-s", num: true }, { label: "second", num: true }],
          list.map((s) => [(num(s.index) + 1) + "/" + fmtInt(sh.expected), String(s.name || ""),
            pill.apply(null, states[s.state] || [String(s.state), ""]),
            s.users == null ? null : fmtInt(s.users),
            s.target == null ? null : obj(store.state).model === "open" ? fmtNum(s.target) + "/s" : fmtInt(s.target),
            s.rps == null ? null : fmtNum(s.rps), s.errors == null ? null : fmtInt(s.errors), cpu(s),
            s.saturated == null ? null : pill(s.saturated ? "saturated" : "ok", s.saturated ? "fail" : "pass"),
            s.cpu_s == null ? null : fmtNum(s.cpu_s),
            s.state === "lost" ? "lost from " + fmtInt(s.lost_from) : s.second == null ? null : fmtInt(s.second)]))
            : empty("No shard has joined yet: surge run --join http://THIS-ADDRESS with the token.")));
      },
    };
  })();

  /* ---------- the test's window onto the page ---------- */

  function chartOf(name) {
    for (const c of U.chartGroup.charts) if (c.spec.name === name && c.data) return c;
    return null;
  }
  window.surgeLive = {
    seconds: () => Array.from(store.secs.keys()).sort((a, b) => a - b),
    second: (s) => store.secs.get(s) || null,
    lastId: () => store.lastId,
    taken: () => store.taken,
    duplicates: () => store.duplicates,
    gaps: () => store.gaps(),
    markers: () => store.markers.slice(),
    state: () => store.state,
    endpoints: () => store.endpoints.size,
    targets: () => Array.from(store.targets.values()),
    shards: () => store.shards,
    chartData: (name) => {
      const c = chartOf(name);
      return c ? c.data.map((col) => Array.from(col)) : null;
    },
    chartDrawn: (name) => {
      const c = chartOf(name);
      return !!(c && c.u);
    },
    tab: () => tab,
  };

  /* ---------- start ---------- */

  window.addEventListener("hashchange", () => {
    const name = location.hash.slice(1);
    if (PANELS[name] && name !== tab) openTab(name);
  });
  let resizePending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizePending);
    resizePending = requestAnimationFrame(() => U.resizeAllCharts());
  });
  const first = location.hash.slice(1);
  if (PANELS[first]) tab = first;
  load();
})();
