/* surge HTML report: draws the page from the result document embedded in #surge-result and
 * the latency percentile curves report_html.c computed from its histograms (#surge-derived).
 * Plain DOM and uPlot; every text from the document is set as text, never parsed as HTML.
 * Keys may be missing (older documents, runs that measured nothing): each part then says so.
 * When done, body[data-rendered] says "N charts" (read by tests/integration/test_report_html.py);
 * errors land in html[data-errors]. */
(function () {
  "use strict";

  const report = document.getElementById("report");
  const noteError = window.surgeReportError || function () {};

  /* ---------- small helpers ---------- */

  function h(tag, attrs) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k === "style") el.style.cssText = v;
        else el.setAttribute(k, v === true ? "" : v);
      }
    }
    for (let i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, kid) {
    if (kid == null || kid === false) return;
    if (Array.isArray(kid)) kid.forEach((k) => add(el, k));
    else el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }

  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const obj = (v) => (isObj(v) ? v : {});
  const arr = (v) => (Array.isArray(v) ? v : []);
  const str = (v, def) => (typeof v === "string" && v !== "" ? v : def);

  /* ---------- formatting ---------- */

  function trimZeros(s) {
    return s.indexOf(".") < 0 ? s : s.replace(/\.?0+$/, "");
  }
  function fmtInt(v) {
    v = num(v);
    return v == null ? "—" : Math.round(v).toLocaleString("en-US");
  }
  function fmtNum(v) {
    v = num(v);
    if (v == null) return "—";
    const a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString("en-US");
    if (a >= 100) return trimZeros(v.toFixed(1));
    if (a >= 1 || a === 0) return trimZeros(v.toFixed(2));
    return trimZeros(v.toPrecision(3));
  }
  function fmtRate(v) {
    v = num(v);
    if (v == null) return "—";
    return (v >= 1000 ? Math.round(v).toLocaleString("en-US") : fmtNum(v)) + "/s";
  }
  function fmtMs(v) {
    v = num(v);
    if (v == null) return "—";
    const a = Math.abs(v);
    if (a === 0) return "0 ms";
    if (a < 1) return trimZeros((v * 1000).toFixed(a < 0.01 ? 1 : 0)) + " µs";
    if (a < 10) return v.toFixed(2) + " ms";
    if (a < 100) return v.toFixed(1) + " ms";
    if (a < 1000) return v.toFixed(0) + " ms";
    if (a < 60000) return (v / 1000).toFixed(a < 10000 ? 2 : 1) + " s";
    return fmtDuration(v / 1000);
  }
  /* For the key-figure cards, where width is scarce: 118,822/s as 118.8k/s. */
  function fmtRateShort(v) {
    v = num(v);
    if (v == null || Math.abs(v) < 10000) return fmtRate(v);
    if (Math.abs(v) < 1e6) return trimZeros((v / 1000).toFixed(1)) + "k/s";
    return trimZeros((v / 1e6).toFixed(2)) + "M/s";
  }
  function fmtPct(frac) {
    frac = num(frac);
    if (frac == null) return "—";
    const p = frac * 100;
    if (p === 0) return "0 %";
    if (Math.abs(p) < 0.01) return p.toPrecision(1) + " %";
    return (Math.abs(p) >= 10 ? p.toFixed(1) : p.toFixed(2)) + " %";
  }
  function fmtBytes(v) {
    v = num(v);
    if (v == null) return "—";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)) + " " + units[i];
  }
  function fmtDuration(s) {
    s = num(s);
    if (s == null) return "—";
    if (s < 60) return trimZeros(s.toFixed(s < 10 ? 2 : 1)) + " s";
    const hours = Math.floor(s / 3600);
    const min = Math.floor((s % 3600) / 60);
    const sec = Math.round(s % 60);
    if (hours > 0) return hours + " h " + String(min).padStart(2, "0") + " min";
    return min + " min" + (sec ? " " + sec + " s" : "");
  }
  /* Elapsed time on a chart axis: "45s" for short runs, "12:30" or "1:02:30" for long ones. */
  function fmtClock(t, long) {
    if (t == null) return "";
    if (!long) return trimZeros(t.toFixed(t % 1 ? 1 : 0)) + "s";
    const s = Math.round(t);
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, "0");
    return hh > 0 ? hh + ":" + String(mm).padStart(2, "0") + ":" + ss : mm + ":" + ss;
  }
  function fmtDate(text) {
    const d = new Date(text);
    if (!text || isNaN(d.getTime())) return str(text, "—");
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const p = (n) => String(n).padStart(2, "0");
    return d.getUTCDate() + " " + months[d.getUTCMonth()] + " " + d.getUTCFullYear() + ", " +
      p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + ":" + p(d.getUTCSeconds()) + " UTC";
  }
  /* A value whose unit only its key tells: "max_rss_bytes", "cpu_s", "p99_ms", ... */
  function fmtAuto(key, v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "string") return v === "" ? "—" : v;
    if (Array.isArray(v)) {
      if (v.length === 0) return "none";
      if (v.every((x) => !isObj(x) && !Array.isArray(x))) return v.map((x) => fmtAuto(key, x)).join(", ");
      return JSON.stringify(v);
    }
    if (isObj(v)) return JSON.stringify(v);
    const k = "_" + key.toLowerCase() + "_";
    if (/_bytes_/.test(k)) return fmtBytes(v);
    if (/_ms_/.test(k)) return fmtMs(v);
    if (/_us_/.test(k)) return fmtMs(v / 1000);
    if (/_(s|seconds)_/.test(k)) return fmtDuration(v);
    if (/_(rate|ratio|fraction|utili[sz]ation)_/.test(k) && v >= 0 && v <= 1) return fmtPct(v);
    if (/_percent_/.test(k)) return trimZeros(v.toFixed(1)) + " %";
    if (/_rps_/.test(k)) return fmtRate(v);
    return fmtNum(v);
  }
  function human(key) {
    return String(key).replace(/_/g, " ");
  }
  function tone(verdict) {
    if (verdict === "PASS" || verdict === true) return "pass";
    if (verdict === "FAIL" || verdict === false) return "fail";
    return "";
  }
  function pill(text, kind, noDot) {
    return h("span", { class: "pill " + (kind || "") }, noDot ? null : h("span", { class: "dot" }), text);
  }

  /* ---------- the data ---------- */

  function readJson(id) {
    const el = document.getElementById(id);
    try {
      return el ? JSON.parse(el.textContent) : {};
    } catch (e) {
      noteError("cannot read the embedded " + id + ": " + e.message);
      return {};
    }
  }
  const doc = obj(readJson("surge-result"));
  const derived = obj(readJson("surge-derived"));
  const cfg = obj(doc.config);
  const totals = obj(doc.totals);
  const lat = obj(doc.latency_ms);
  const svc = isObj(doc.service_ms) ? doc.service_ms : null;
  const assess = obj(doc.assessment);
  const targets = obj(assess.targets);
  const gen = obj(doc.generator);
  /* a final interval of a few milliseconds (the run ended just after a second) is noise as a rate */
  const timeline = arr(doc.timeline).filter((p) => isObj(p) && num(p.t) != null).sort((a, b) => a.t - b.t).filter((p, i, all) =>
    !(i > 0 && i === all.length - 1 && p.t - all[i - 1].t < 0.2));
  const duration = num(doc.duration_s);
  const requests = num(totals.requests) || 0;
  const open = cfg.model === "open";

  /* ---------- header ---------- */

  function loadShape() {
    const parts = [];
    if (cfg.model) parts.push(cfg.model + " model");
    if (cfg.stages) parts.push((open ? "rate stages " : "user stages ") + cfg.stages);
    else if (open && num(cfg.rate) != null) parts.push(fmtRate(cfg.rate));
    else if (!open && num(cfg.connections) != null) parts.push(fmtInt(cfg.connections) + " users");
    if (cfg.profile) parts.push("profile " + cfg.profile);
    return parts.join(", ");
  }

  function verdictReasons() {
    const out = [];
    const add1 = (name, v, text) => {
      if (v === "PASS" || v === "FAIL") out.push(pill((v === "PASS" ? "✓ " : "✗ ") + name + (text ? " · " + text : ""), tone(v), true));
    };
    add1("latency", assess.latency, assess.latency_class ? assess.latency_class : "");
    add1("error rate", assess.error_rate, fmtPct(totals.error_rate));
    add1("throughput", assess.throughput, fmtRate(totals.rps));
    const ths = arr(doc.thresholds);
    add1("thresholds", assess.thresholds, ths.length ? ths.filter((t) => t && t.ok === true).length + "/" + ths.length + " held" : "none set");
    if (Array.isArray(doc.checks) && doc.checks.length) {
      const failing = doc.checks.filter((c) => isObj(c) && num(c.fails) > 0).length;
      out.push(pill((failing ? "✗ " : "✓ ") + "checks · " + (doc.checks.length - failing) + "/" + doc.checks.length + " clean", failing ? "fail" : "pass", true));
    }
    return out;
  }

  function downloadButton() {
    const b = h("button", { class: "btn", type: "button", title: "the result document embedded in this page (per-second histograms left out)" }, "Download result JSON");
    b.addEventListener("click", () => {
      const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
      const a = h("a", { href: URL.createObjectURL(blob), download: "surge-result.json" });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
    return b;
  }

  function header() {
    const v = str(assess.verdict, "");
    const kind = tone(v);
    const why = v === "FAIL" ? failWhy() : v === "PASS" ? "every check held" : "no assessment in this document";
    const target = cfg.scenario
      ? [h("span", { class: "method" }, "LUA"), h("span", { class: "url" }, cfg.scenario + (cfg.url ? " → " + cfg.url : ""))]
      : cfg.url
      ? [cfg.method ? h("span", { class: "method" }, cfg.method) : null, h("span", { class: "url" }, cfg.url)]
      : "load test";
    const meta = [
      ["started", fmtDate(doc.started_at)],
      ["duration", fmtDuration(duration)],
      ["load", loadShape() || null],
      ["threads", num(cfg.threads) != null ? String(cfg.threads) : null],
      ["surge", str(doc.version, null)],
    ].filter((m) => m[1]);
    return h("header", { class: "hero" },
      h("div", { class: "verdict " + kind }, h("div", { class: "word" }, v || "—"), h("div", { class: "why" }, why)),
      h("div", { class: "hero-main" },
        h("div", { class: "brand" }, h("span", null, h("b", null, "surge"), " · load test report"), downloadButton()),
        h("div", { class: "target" }, target),
        h("div", { class: "meta" }, meta.map((m) => h("span", null, h("b", null, m[0]), m[1]))),
        h("div", { class: "checks-line" }, verdictReasons())));
  }

  function failWhy() {
    const bad = [];
    if (assess.latency === "FAIL") bad.push("latency");
    if (assess.error_rate === "FAIL") bad.push("error rate");
    if (assess.throughput === "FAIL") bad.push("throughput");
    if (assess.thresholds === "FAIL") bad.push("thresholds");
    if (assess.checks === "FAIL") bad.push("checks");
    return bad.length ? bad.join(", ") + " failed" : "the run failed";
  }

  /* ---------- alerts ---------- */

  function alerts() {
    const list = [];
    const alert = (kind, icon, title, text, big) =>
      list.push(h("div", { class: "alert " + kind + (big ? " big" : "") }, h("div", { class: "icon" }, icon), h("div", null, h("b", null, title), text)));
    if (gen.saturated === true) {
      const why = [];
      const sat = isObj(gen.saturation) ? gen.saturation : null;
      if (sat && num(sat.seconds) != null)
        why.push((sat.criterion === "thread_cpu" ? "a thread without idle CPU" : "the pacer late for over " + fmtPct(num(sat.bound)) + " of the arrivals") +
          " in " + fmtInt(sat.seconds) + " of " + fmtInt(sat.run_seconds) + " seconds");
      if (num(gen.thread_cpu_max) != null) why.push("busiest thread at " + fmtPct(gen.thread_cpu_max) + " CPU");
      if (num(gen.sched_lag_p99_us) != null && gen.sched_lag_p99_us > 0) why.push("scheduling lag p99 " + fmtMs(gen.sched_lag_p99_us / 1000));
      alert("warn", "!", "The load generator was saturated",
        "These figures may describe surge's own limits rather than the target's" + (why.length ? " (" + why.join(", ") + ")" : "") +
        ". Run with more threads (-t), fewer connections, or from more machines before drawing conclusions.", true);
    }
    if (requests === 0) {
      alert("fail", "×", "Nothing was measured", "No request completed during the run, so there are no latencies to show.", true);
    } else if (num(totals.responses) === 0) {
      alert("fail", "×", "The target never answered",
        "Every request failed before a response (" + topErrors() + ").", true);
    }
    if (assess.aborted === true)
      alert("warn", "!", "Stopped early", "A threshold failed and --abort-on-fail ended the run before its planned duration.");
    if (doc.interrupted === true)
      alert("info", "i", "Interrupted", "The run was stopped (Ctrl-C) before its planned duration; the figures cover what ran.");
    if (num(totals.dropped) > 0)
      alert("warn", "!", fmtInt(totals.dropped) + " arrivals dropped",
        "The open model's queue was full: the target could not keep up with the asked rate, and these requests were never sent.");
    if (num(totals.late) > 0)
      alert("info", "i", fmtInt(totals.late) + " arrivals waited for a free connection",
        "Their latency counts from the intended send time, so the waiting shows in the percentiles.");
    if (num(totals.unfinished) > 0)
      alert("info", "i", fmtInt(totals.unfinished) + " requests unfinished at the end",
        "They were out, or waiting for a connection, when the run stopped: abandoned, in neither the requests nor the errors.");
    return list.length ? h("div", { class: "alerts" }, list) : null;
  }

  function topErrors() {
    const kinds = Object.entries(obj(doc.errors_by_kind)).filter((e) => num(e[1]) > 0).sort((a, b) => b[1] - a[1]);
    return kinds.length ? kinds.slice(0, 3).map((e) => human(e[0]) + " " + fmtInt(e[1])).join(", ") : "see errors by kind";
  }

  /* ---------- key figures ---------- */

  function figure(label, value, sub, kind) {
    return h("div", { class: "figure " + (kind || "") }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), sub ? h("div", { class: "sub" }, sub) : null);
  }

  function figures() {
    const hasLatency = num(totals.responses) !== 0 && requests > 0;
    const ms = (v) => (hasLatency ? fmtMs(v) : "—");
    const p95target = num(targets.p95_ms);
    const errTarget = num(targets.max_error_rate);
    const minRps = num(targets.min_rps);
    return h("div", { class: "figures" },
      figure("Requests", fmtInt(totals.requests), num(totals.responses) != null ? fmtInt(totals.responses) + " responses" : duration != null ? "in " + fmtDuration(duration) : null),
      figure("Throughput", fmtRateShort(totals.rps), minRps > 0 ? "target ≥ " + fmtRate(minRps) : "requests per second", tone(assess.throughput)),
      figure("Error rate", fmtPct(totals.error_rate), (num(totals.errors) != null ? fmtInt(totals.errors) + " errors" : "") + (errTarget != null ? " · target < " + fmtPct(errTarget) : ""), tone(assess.error_rate)),
      figure("p50", ms(lat.p50), "median"),
      figure("p95", ms(lat.p95), p95target != null ? "target < " + fmtMs(p95target) : null, tone(assess.latency)),
      figure("p99", ms(lat.p99), num(lat.p99_9) != null ? "p99.9 " + ms(lat.p99_9) : null),
      figure("Max", ms(lat.max), num(lat.mean) != null ? "mean " + ms(lat.mean) : null),
      figure("Received", fmtBytes(totals.bytes_in), num(totals.bytes_out) != null ? fmtBytes(totals.bytes_out) + " sent" : null));
  }

  /* ---------- tables ---------- */

  function table(cols, rows, opts) {
    opts = opts || {};
    return h("div", { class: "table-wrap" },
      h("table", { class: opts.class || null },
        opts.noHead ? null : h("thead", null, h("tr", null, cols.map((c) => h("th", { class: c.num ? "num" : null }, c.label)))),
        h("tbody", null, rows.map((r) => h("tr", null, r.map((cell, i) => {
          const c = cols[i] || {};
          if (cell instanceof Node) return h("td", { class: c.num ? "num" : c.cls || null }, cell);
          return h("td", { class: (c.num ? "num" : c.cls || "") + (c.bad && c.bad(cell, r) ? " bad" : "") || null }, cell == null ? "—" : String(cell));
        }))))));
  }
  /* An object as rows of key and value; nested objects as dotted keys. */
  function keyValues(o, labels, formats) {
    const rows = [];
    const walk = (prefix, v) => {
      for (const k of Object.keys(v)) {
        const key = prefix ? prefix + "." + k : k;
        const fmt = formats && formats[key];
        if (isObj(v[k]) && Object.keys(v[k]).length && !fmt) walk(key, v[k]);
        else rows.push([labels && labels[key] ? labels[key] : key, fmt ? fmt(v[k]) : fmtAuto(k, v[k])]);
      }
    };
    walk("", o);
    return table([{ cls: "key" }, { cls: "val" }], rows, { noHead: true });
  }
  function card(title, sub) {
    const c = h("div", { class: "card" }, title ? h("h3", null, title, sub ? h("span", { class: "sub" }, sub) : null) : sub ? h("p", { class: "note top" }, sub) : null);
    for (let i = 2; i < arguments.length; i++) add(c, arguments[i]);
    return c;
  }
  function section(title) {
    const id = title ? title.toLowerCase().replace(/[^a-z0-9]+/g, "-") : null;
    const s = h("section", { id: id }, title ? h("h2", null, title) : null);
    for (let i = 1; i < arguments.length; i++) add(s, arguments[i]);
    return s;
  }
  function empty(text) {
    return h("p", { class: "empty" }, text);
  }
  function shareBar(frac, cls) {
    return h("div", { class: "bar " + (cls || "") }, h("i", { style: "width:" + Math.max(0, Math.min(100, frac * 100)).toFixed(2) + "%" }));
  }

  /* ---------- assessment, thresholds, recommendations ---------- */

  function assessment() {
    if (!Object.keys(assess).length) return card("Assessment", null, empty("This document has no assessment."));
    const rows = [];
    const row = (label, text, v) => rows.push([label, text, v ? pill(v, tone(v)) : h("span")]);
    const measured = requests > 0 && num(totals.responses) !== 0;
    const p95 = measured ? fmtMs(num(assess.p95_ms) != null ? assess.p95_ms : lat.p95) : "no responses";
    row("Latency", (assess.latency_class ? assess.latency_class + " · " : "") + "p95 " + p95 +
      (num(targets.p95_ms) != null ? " (target < " + fmtMs(targets.p95_ms) + ")" : ""), assess.latency);
    row("Error rate", fmtPct(totals.error_rate) + (num(targets.max_error_rate) != null ? " (target < " + fmtPct(targets.max_error_rate) + ")" : ""), assess.error_rate);
    row("Throughput", fmtRate(totals.rps) + (num(targets.min_rps) > 0 ? " (target ≥ " + fmtRate(targets.min_rps) + ")" : ""), assess.throughput);
    const ths = arr(doc.thresholds).filter(isObj);
    if (assess.thresholds) row("Thresholds", ths.length ? ths.filter((t) => t.ok === true).length + " of " + ths.length + " held" : "none set", assess.thresholds);
    if (assess.checks) row("Checks", "", assess.checks);
    const known = new Set(["verdict", "latency_class", "latency", "throughput", "error_rate", "thresholds", "checks", "p95_ms", "targets", "aborted", "profile"]);
    for (const k of Object.keys(assess)) if (!known.has(k)) row(human(k), fmtAuto(k, assess[k]), assess[k] === "PASS" || assess[k] === "FAIL" ? assess[k] : null);
    if (assess.profile) row("Profile", assess.profile, null);
    row("Verdict", assess.aborted ? "stopped early by --abort-on-fail" : "", assess.verdict);
    return card("Assessment", null, table([{}, {}, {}], rows, { noHead: true, class: "assess" }));
  }

  function thresholdValue(expr, v) {
    if (num(v) == null) return "—";
    const metric = String(expr).split(/[<>=!]/)[0].split(":").pop().trim().toLowerCase();
    if (metric === "error_rate") return fmtPct(v);
    if (metric === "rps") return fmtRate(v);
    if (/^(p\d+(\.\d+)?|max|min|mean|med|avg)$/.test(metric)) return fmtMs(v);
    return fmtNum(v);
  }

  function thresholds() {
    const list = arr(doc.thresholds).filter(isObj);
    if (!list.length) return card("Thresholds", null, empty("No thresholds were set (--threshold 'p95<200ms')."));
    const held = list.filter((t) => t.ok === true).length;
    return card("Thresholds", held + " of " + list.length + " held",
      table([{ label: "threshold" }, { label: "measured", num: true }, { label: "result", num: true }],
        list.map((t) => [h("code", null, str(t.expr, "?")), thresholdValue(t.expr, t.value), pill(t.ok === true ? "held" : t.ok === false ? "failed" : "unknown", t.ok === true ? "pass" : t.ok === false ? "fail" : "")])));
  }

  function recommendations() {
    const list = arr(doc.recommendations).filter(isObj);
    if (!list.length) return card(null, null, empty("None: nothing in the measured figures calls for action."));
    const kind = (s) => (/crit|high|error|severe|urgent/i.test(s) ? "fail" : /warn|medium/i.test(s) ? "warn" : "info");
    return card(null, null, h("div", { class: "recs" }, list.map((r) =>
      h("div", { class: "rec" }, pill(str(r.severity, "info"), kind(str(r.severity, ""))),
        h("div", null, h("div", { class: "title" }, str(r.title, "")), r.detail ? h("div", { class: "detail" }, String(r.detail)) : null,
          isObj(r.figures) && Object.keys(r.figures).length
            ? h("div", { class: "figures-used" }, Object.keys(r.figures).map((k) => h("span", null, h("b", null, human(k)), fmtAuto(k, r.figures[k]))))
            : null)))));
  }

  /* ---------- charts ---------- */

  const COLORS = {
    rps: "#2563eb", target: "#94a3b8", users: "#7c3aed", errors: "#dc2626", dropped: "#ea580c", late: "#d97706",
    p50: "#2563eb", p95: "#f59e0b", p99: "#dc2626",
    series: ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#475569"],
  };
  /* elapsed-time ticks fall on round seconds and minutes */
  const TIME_INCRS = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const charts = [];
  let drawn = 0;
  let finished = false;

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  function markDrawn(u) {
    if (u._surgeDrawn) return;
    u._surgeDrawn = true;
    drawn++;
    if (finished && drawn === charts.length) document.body.dataset.rendered = drawn + " charts";
  }

  /* spec: {x, xFmt, xLabel, xScale, xSplits, yFmt, series: [{label, data, color, dash, fill, fmt}]} */
  function chart(host, spec) {
    const height = spec.height || 230;
    const axis = { stroke: "#64748b", font: "11px system-ui, sans-serif", grid: { stroke: "#eef2f7", width: 1 }, ticks: { stroke: "#e2e8f0", width: 1, size: 4 } };
    let yMax = 0;
    for (const s of spec.series) for (const v of s.data) if (v != null && v > yMax) yMax = v;
    const opts = {
      width: Math.max(200, host.clientWidth || 560),
      height: height,
      padding: [10, spec.padRight || 14, 0, 2],
      cursor: { points: { size: 7, width: 2 }, drag: { x: !spec.xScale, y: false } },
      legend: { show: true, live: true },
      scales: {
        x: Object.assign({ time: false }, spec.xScale || {}),
        y: { range: (u, min, max) => [0, yMax > 0 ? yMax * 1.1 : 1] },
      },
      axes: [
        Object.assign({}, axis, { values: (u, vals) => vals.map((v) => spec.xFmt(v, true)), splits: spec.xSplits, incrs: spec.xSplits ? undefined : TIME_INCRS, space: 50 }),
        Object.assign({}, axis, { size: 62, values: (u, vals) => vals.map((v) => spec.yFmt(v)) }),
      ],
      /* the legend shows values under the cursor, and only the names when it is away */
      series: [{ label: spec.xLabel, value: (u, v, si, idx) => (idx == null ? "" : v == null ? "—" : spec.xFmt(v, false)) }].concat(spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width || 2,
        dash: s.dash,
        fill: s.fill ? alpha(s.color, 0.1) : undefined,
        points: { show: spec.x.length < 3 },
        spanGaps: false,
        value: (u, v, si, idx) => (idx == null ? "" : v == null ? "—" : (s.fmt || spec.yFmt)(v)),
      }))),
      hooks: { draw: [markDrawn] },
    };
    const u = new uPlot(opts, [spec.x].concat(spec.series.map((s) => s.data)), host);
    u._surgeHost = host;
    u._surgeHeight = height;
    charts.push(u);
    return u;
  }

  function chartCard(title, hint, build) {
    const host = h("div", { class: "chart" });
    const c = h("div", { class: "card chart-card" }, h("h3", null, title, hint ? h("span", { class: "hint" }, hint) : null), host);
    return { card: c, host: host, build: build };
  }

  function overTime() {
    if (!timeline.length) return { cards: [], note: empty("This document has no timeline.") };
    const t = timeline.map((p) => num(p.t));
    const long = (t[t.length - 1] || 0) >= 120;
    const xFmt = (v, axis) => (axis ? fmtClock(v, long) : "at " + fmtClock(v, true) + (long ? "" : " (" + fmtClock(v, false) + ")"));
    const perSec = (key) => timeline.map((p, i) => {
      const v = num(p[key]);
      const dt = i === 0 ? t[0] : t[i] - t[i - 1];
      return v == null ? null : dt > 0 ? v / dt : v;
    });
    const col = (key) => timeline.map((p) => num(p[key]));
    const answered = timeline.map((p) => !(num(p.p50_ms) === 0 && num(p.p99_ms) === 0) || num(p.requests) > num(p.errors));
    const latCol = (key) => timeline.map((p, i) => (answered[i] ? num(p[key]) : null));
    const base = { x: t, xFmt: xFmt, xLabel: "elapsed" };
    const cards = [];
    const hint = "drag to zoom, double-click to reset";

    cards.push(chartCard("Throughput", hint, (host) => {
      const series = [{ label: "requests/s", data: timeline.map((p) => num(p.rps)), color: COLORS.rps, fill: true, fmt: fmtRate }];
      if (open && timeline.some((p) => num(p.target) != null)) series.push({ label: "target rate", data: col("target"), color: COLORS.target, dash: [6, 4], fmt: fmtRate });
      chart(host, Object.assign({}, base, { yFmt: (v) => fmtNum(v), series: series }));
    }));
    cards.push(chartCard("Latency", "p50, p95, p99 per second", (host) => {
      chart(host, Object.assign({}, base, {
        yFmt: fmtMs,
        series: [
          { label: "p50", data: latCol("p50_ms"), color: COLORS.p50 },
          { label: "p95", data: latCol("p95_ms"), color: COLORS.p95 },
          { label: "p99", data: latCol("p99_ms"), color: COLORS.p99 },
        ],
      }));
    }));
    cards.push(chartCard(open ? "Connections" : "Users", open ? "connections open (the rate is in Throughput)" : null, (host) => {
      const series = [{ label: open ? "connections" : "users", data: col("users"), color: COLORS.users, fill: true, fmt: fmtInt }];
      if (!open && timeline.some((p) => num(p.target) != null)) series.push({ label: "target users", data: col("target"), color: COLORS.target, dash: [6, 4], fmt: fmtInt });
      chart(host, Object.assign({}, base, { yFmt: fmtNum, series: series }));
    }));
    const anyErrors = timeline.some((p) => num(p.errors) > 0 || num(p.dropped) > 0);
    cards.push(chartCard("Errors", anyErrors ? "per second" : "none during the run", (host) => {
      const series = [{ label: "errors/s", data: perSec("errors"), color: COLORS.errors, fill: true, fmt: fmtRate }];
      if (timeline.some((p) => num(p.dropped) > 0)) series.push({ label: "dropped/s", data: perSec("dropped"), color: COLORS.dropped, fmt: fmtRate });
      if (timeline.some((p) => num(p.late) > 0)) series.push({ label: "late/s", data: perSec("late"), color: COLORS.late, dash: [4, 3], fmt: fmtRate });
      chart(host, Object.assign({}, base, { yFmt: fmtNum, series: series }));
    }));

    /* figures a newer surge adds per second (the target's CPU, memory, ...): one chart each */
    /* (the generator's own per-second figures are its self-check's, summed up in the alert) */
    const known = new Set(["t", "users", "target", "requests", "rps", "errors", "late", "dropped", "bytes_in", "bytes_out", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "hist", "responses",
      "generator_cpu", "due", "due_late"]);
    const extra = [];
    for (const p of timeline) for (const k of Object.keys(p)) if (!known.has(k) && typeof p[k] === "number" && extra.indexOf(k) < 0) extra.push(k);
    extra.slice(0, 8).forEach((k, i) => {
      cards.push(chartCard(human(k), null, (host) => {
        chart(host, Object.assign({}, base, { yFmt: (v) => fmtAuto(k, v), series: [{ label: human(k), data: col(k), color: COLORS.series[(i + 2) % COLORS.series.length], fill: true }] }));
      }));
    });
    return { cards: cards };
  }

  /* x = 1/(1-p): 1 at p0, 10 at p90, 100 at p99 — HdrHistogram's percentile plot. */
  function pctLabel(x, precise) {
    if (x <= 1) return precise ? "p0" : "0%";
    const p = 100 * (1 - 1 / x);
    if (!precise) return trimZeros(p.toFixed(Math.max(0, Math.round(Math.log10(x)) - 1))) + "%";
    const digits = Math.min(6, Math.max(1, Math.ceil(Math.log10(x)) + 1));
    return "p" + trimZeros(p.toFixed(digits));
  }

  function distribution() {
    const curve = isObj(derived.latency_curve) ? derived.latency_curve : null;
    let pct;
    let series;
    let note;
    if (curve && arr(curve.percentiles).length && arr(curve.series).length) {
      pct = curve.percentiles;
      /* one endpoint's curve is the whole run's: draw it only beside others */
      const list = curve.series.filter(isObj);
      series = (list.length === 2 ? list.slice(0, 1) : list).map((s, i) => ({
        label: s.name === "all" ? "all requests" : String(s.name),
        data: arr(s.ms).map(num),
        color: COLORS.series[i % COLORS.series.length],
        width: s.name === "all" ? 2.5 : 1.5,
      }));
      note = "From the run's HdrHistogram (" + fmtInt(curve.series[0].count) + " values, 3 significant digits); the last point is the maximum.";
    } else if (requests > 0 && num(totals.responses) !== 0 && num(lat.p50) != null) {
      const pts = [[0, lat.min], [50, lat.p50], [90, lat.p90], [95, lat.p95], [99, lat.p99], [99.9, lat.p99_9]].filter((p) => num(p[1]) != null);
      pct = pts.map((p) => p[0]);
      series = [{ label: "latency", data: pts.map((p) => p[1]), color: COLORS.series[0], width: 2.5 }];
      note = "This document has no histogram: the curve joins its summary percentiles.";
    } else {
      return null;
    }
    const x = pct.map((p) => 1 / (1 - Math.min(p, 99.9999999999) / 100));
    const xMax = x[x.length - 1];
    const splits = [];
    for (let s = 1; splits.length < 2 || splits[splits.length - 1] < xMax * 0.9999; s *= 10) splits.push(s);
    return {
      note: note,
      build: (host) => chart(host, {
        x: x, height: 300, xLabel: "percentile",
        xFmt: (v, axis) => pctLabel(v, !axis),
        xScale: { distr: 3, log: 10, range: () => [1, splits[splits.length - 1]] },
        padRight: 26,
        xSplits: () => splits,
        yFmt: fmtMs,
        series: series,
      }),
    };
  }

  function latencyTable() {
    const keys = [["min", "min"], ["mean", "mean"], ["stdev", "stdev"], ["p50", "p50"], ["p90", "p90"], ["p95", "p95"], ["p99", "p99"], ["p99_9", "p99.9"], ["max", "max"]];
    const measured = requests > 0 && num(totals.responses) !== 0;
    const cols = [{ label: "" }, { label: open ? "corrected" : "latency", num: true }];
    if (svc && open) cols.push({ label: "service", num: true });
    const rows = keys.filter((k) => lat[k[0]] !== undefined || (svc && svc[k[0]] !== undefined)).map((k) => {
      const r = [k[1], measured ? fmtMs(lat[k[0]]) : "—"];
      if (svc && open) r.push(measured ? fmtMs(svc[k[0]]) : "—");
      return r;
    });
    const note = open ? "corrected = from the intended send time, so waiting for a stalled server counts; service = from the actual send." : "from the first byte written to the last byte read.";
    return card("Percentiles", null, rows.length ? table(cols, rows) : empty("No latency figures in this document."), h("p", { class: "note" }, note));
  }

  /* ---------- endpoints, codes, errors ---------- */

  function codeClass(code) {
    const c = String(code)[0];
    return c >= "1" && c <= "5" ? "c" + c : "cx";
  }

  function endpoints() {
    const list = arr(doc.endpoints).filter(isObj);
    if (!list.length) return card(null, null, empty("No per-endpoint figures in this document."));
    const withCodes = list.some((e) => isObj(e.status_codes));
    const cols = [
      { label: "name", cls: "name" }, { label: "method" }, { label: "requests", num: true }, { label: "errors", num: true, bad: (v, r) => v !== "0" && v !== "—" },
      { label: "rps", num: true }, { label: "p50", num: true }, { label: "p95", num: true }, { label: "p99", num: true }, { label: "max", num: true },
    ];
    if (withCodes) cols.push({ label: "status codes" });
    const rows = list.map((e) => {
      const l = obj(e.latency_ms);
      const errs = num(e.errors);
      const reqs = num(e.requests);
      const measured = reqs > 0 && (num(e.responses) == null ? !(errs === reqs && !num(l.max)) : num(e.responses) > 0);
      const r = [str(e.name, "—"), str(e.method, ""), fmtInt(reqs),
        errs == null ? "—" : errs === 0 ? "0" : fmtInt(errs) + (reqs ? " (" + fmtPct(errs / reqs) + ")" : ""),
        fmtRate(e.rps), measured ? fmtMs(l.p50) : "—", measured ? fmtMs(l.p95) : "—", measured ? fmtMs(l.p99) : "—", measured ? fmtMs(l.max) : "—"];
      if (withCodes) r.push(Object.entries(obj(e.status_codes)).map((c) => c[0] + ": " + fmtInt(c[1])).join(", ") || "—");
      return r;
    });
    return card(null, null, table(cols, rows));
  }

  function statusCodes() {
    const codes = Object.entries(obj(doc.status_codes)).filter((c) => num(c[1]) != null);
    if (!codes.length) return card("Status codes", null, empty(requests ? "No response was received." : "No responses."));
    const total = codes.reduce((a, c) => a + c[1], 0) || 1;
    return card("Status codes", fmtInt(total) + " responses", table([{ label: "code" }, { label: "count", num: true }, { label: "share", num: true }, { label: "" }],
      codes.map((c) => [h("span", { class: "code " + codeClass(c[0]) }, c[0]), fmtInt(c[1]), fmtPct(c[1] / total), shareBar(c[1] / total, codeClass(c[0]))])));
  }

  function errorKinds() {
    const kinds = Object.entries(obj(doc.errors_by_kind)).filter((e) => num(e[1]) > 0).sort((a, b) => b[1] - a[1]);
    const httpErrors = Object.entries(obj(doc.status_codes)).filter((c) => Number(c[0]) >= 400).reduce((a, c) => a + (num(c[1]) || 0), 0);
    const note = httpErrors ? h("p", { class: "note" }, fmtInt(httpErrors) + " responses outside 2xx/3xx also count as errors (see status codes).") : null;
    if (!kinds.length) return card("Errors by kind", null, empty(doc.errors_by_kind ? "No transport errors." : "Not in this document."), note);
    const total = requests || 1;
    return card("Errors by kind", "transport failures", table([{ label: "kind" }, { label: "count", num: true }, { label: "of requests", num: true }, { label: "" }],
      kinds.map((e) => [human(e[0]), fmtInt(e[1]), fmtPct(e[1] / total), shareBar(e[1] / total, "c5")])), note);
  }

  /* ---------- scenarios: checks and custom metrics ---------- */

  function checks() {
    const list = arr(doc.checks).filter(isObj);
    if (!list.length) return null;
    return card("Checks", list.length + " checks", table([{ label: "check", cls: "name" }, { label: "passes", num: true }, { label: "fails", num: true, bad: (v) => v !== "0" }, { label: "pass rate", num: true }, { label: "" }],
      list.map((c) => {
        const pass = num(c.passes) || 0;
        const fails = num(c.fails) || 0;
        const rate = pass + fails ? pass / (pass + fails) : null;
        return [str(c.name, "—"), fmtInt(pass), fmtInt(fails), rate == null ? "—" : fmtPct(rate), rate == null ? "" : shareBar(rate, fails ? "c2 split" : "c2")];
      })));
  }

  function metrics() {
    const m = obj(doc.metrics);
    const counters = Object.entries(obj(m.counters));
    const trends = Object.entries(obj(m.trends)).filter((t) => isObj(t[1]));
    if (!counters.length && !trends.length) return null;
    const parts = [];
    if (counters.length) parts.push(card("Counters", null, table([{ label: "name", cls: "name" }, { label: "value", num: true }], counters.map((c) => [c[0], fmtNum(c[1])]))));
    if (trends.length) {
      const keys = ["count", "min", "mean", "p50", "p90", "p95", "p99", "max"];
      parts.push(card("Trends", null, table([{ label: "name", cls: "name" }].concat(keys.map((k) => ({ label: k, num: true }))),
        trends.map((t) => [t[0]].concat(keys.map((k) => (k === "count" ? fmtInt(t[1][k]) : fmtNum(t[1][k]))))))));
    }
    return parts;
  }

  /* ---------- target, generator, configuration ---------- */

  const GENERATOR_LABELS = {
    cpu_s: "CPU time", max_rss_bytes: "max RSS", threads: "threads", connections: "connections",
    thread_cpu_max: "busiest thread CPU", thread_cpu: "CPU per thread", sched_lag_p99_us: "scheduling lag p99",
    sched_lag_max_us: "scheduling lag max", saturated: "saturated",
  };

  /* thread_cpu and thread_cpu_max are fractions of one CPU */
  const GENERATOR_FORMATS = {
    thread_cpu_max: fmtPct,
    thread_cpu: (v) => (Array.isArray(v) ? v.map(fmtPct).join(", ") : fmtAuto("", v)),
    saturated: (v) => (v === true ? pill("yes: the figures may describe surge, not the target", "fail") : fmtAuto("", v)),
  };

  function generator() {
    if (!Object.keys(gen).length) return card("Generator", null, empty("Not in this document."));
    const rows = keyValues(gen, GENERATOR_LABELS, GENERATOR_FORMATS);
    const rpc = num(gen.cpu_s) > 0 ? h("p", { class: "note" }, fmtInt(requests / gen.cpu_s) + " requests per generator CPU-second.") : null;
    return card("Generator", gen.saturated === true ? "saturated" : "surge's own figures", rows, rpc);
  }

  function target() {
    if (!isObj(doc.target) || !Object.keys(doc.target).length) return null;
    return section("Target", card(null, "scraped from the target during the run", keyValues(doc.target)));
  }

  function configuration() {
    if (!Object.keys(cfg).length) return card("Configuration", null, empty("Not in this document."));
    return card("Configuration", "as asked", keyValues(cfg));
  }

  /* ---------- the page ---------- */

  /* --group-by-header: responses per value of one header (X-Served-By: per instance behind
   * a load balancer), with each one's share and the spread (largest share / mean share). */
  function groupBy() {
    const g = obj(doc.group_by);
    const list = arr(g.values).filter(isObj);
    const header = str(g.header, "header");
    if (!list.length) return card(null, null, empty("No response carried " + header + "."));
    const most = Math.max.apply(null, list.map((v) => num(v.share) || 0));
    const cols = [
      { label: header, cls: "name" }, { label: "requests", num: true }, { label: "share" }, { label: "errors", num: true, bad: (v) => v !== "0" && v !== "—" },
      { label: "rps", num: true }, { label: "p50", num: true }, { label: "p95", num: true }, { label: "p99", num: true }, { label: "max", num: true },
    ];
    const rows = list.map((v) => {
      const l = obj(v.latency_ms);
      const share = num(v.share);
      const errs = num(v.errors);
      return [str(v.value, "(empty)"), fmtInt(v.requests),
        h("div", { class: "share" }, shareBar(most > 0 ? (share || 0) / most : 0, share === most && list.length > 1 ? "c4" : "c3"), share == null ? "—" : fmtPct(share)),
        errs == null ? "—" : errs === 0 ? "0" : fmtInt(errs) + " (" + fmtPct(v.error_rate) + ")",
        fmtRate(v.rps), fmtMs(l.p50), fmtMs(l.p95), fmtMs(l.p99), fmtMs(l.max)];
    });
    const spread = num(g.spread);
    const notes = ["Spread " + (spread == null ? "—" : fmtNum(spread)) + ": the largest share over the mean share of " + list.length + " value" + (list.length === 1 ? "" : "s") + " (1 = perfectly even)."];
    if (num(g.missing) > 0) notes.push(fmtInt(g.missing) + " responses had no " + header + ".");
    if (num(g.overflow) > 0) notes.push(fmtInt(g.overflow) + " responses had a value beyond the first " + fmtInt(g.values_max) + " kept.");
    if (num(g.truncated) > 0) notes.push(fmtInt(g.truncated) + " values were cut short.");
    return card(null, null, table(cols, rows), h("p", { class: "note" }, notes.join(" ")));
  }

  function render() {
    document.title = document.title || "surge report";
    report.append(header());
    add(report, alerts());
    report.append(figures());
    report.append(section("Verdict", h("div", { class: "grid-2" }, assessment(), thresholds())));
    report.append(section("Recommendations", recommendations()));

    const time = overTime();
    const dist = distribution();
    const pending = time.cards.slice();
    report.append(section("Over time", time.note || null, time.cards.length ? h("div", { class: "grid-2" }, time.cards.map((c) => c.card)) : null));
    let distCard = null;
    if (dist) {
      distCard = chartCard("Latency distribution", "percentile, log scale", dist.build);
      add(distCard.card, h("p", { class: "note" }, dist.note));
      pending.push(distCard);
    }
    report.append(section("Latency", h("div", { class: "grid-dist" }, distCard ? distCard.card : card("Latency distribution", null, empty("Nothing was measured.")), latencyTable())));
    report.append(section("Endpoints", endpoints()));
    if (isObj(doc.group_by)) report.append(section("Load balance", groupBy()));
    report.append(section("Responses", h("div", { class: "grid-2" }, statusCodes(), errorKinds())));
    const c = checks();
    const m = metrics();
    if (c || m) report.append(section("Scenario", h("div", { class: "grid-2" }, c, m)));
    add(report, target());
    report.append(section("Run", h("div", { class: "grid-2" }, generator(), configuration())));
    report.append(h("footer", null,
      "Generated by surge " + str(doc.version, "") + " from its result document, which is embedded in this file. ",
      h("br"), "Self-contained: works offline. Charts drawn with uPlot (MIT)."));

    /* charts last: their hosts are in the page, so they know their width */
    for (const p of pending) {
      try {
        p.build(p.host);
      } catch (e) {
        noteError("chart failed: " + (e && e.message));
      }
    }
    finished = true;
    if (drawn === charts.length) document.body.dataset.rendered = drawn + " charts";
    /* the sections exist only now: a link to one (report.html#latency) scrolls there */
    const anchor = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (anchor) anchor.scrollIntoView();
  }

  function resizeAll(width) {
    for (const u of charts) {
      const w = width || u._surgeHost.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: u._surgeHeight });
    }
  }

  try {
    render();
  } catch (e) {
    noteError(e && e.stack ? e.stack : String(e));
    report.append(h("div", { class: "alert fail" }, h("div", { class: "icon" }, "×"), h("div", null, h("b", null, "This report could not be drawn"), String(e && e.message))));
  }

  let pendingResize = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pendingResize);
    pendingResize = requestAnimationFrame(() => resizeAll());
  });
  /* paper is narrower than the screen: size the charts for an A4/Letter page, then restore */
  window.addEventListener("beforeprint", () => resizeAll(680));
  window.addEventListener("afterprint", () => resizeAll());
})();
