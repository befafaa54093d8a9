/* surge live page: what every other script here uses — the page's error record, a small DOM
 * builder and the number formats (the same as the saved report's, so both read alike).
 * Loaded first, in <head>: errors from anything later land in html[data-errors], which the
 * browser test reads. Every text is set as text, never parsed as HTML. */
(function () {
  "use strict";

  const seen = [];
  function noteError(msg) {
    seen.push(String(msg).slice(0, 500));
    if (seen.length > 20) seen.shift();
    document.documentElement.setAttribute("data-errors", seen.join(" | "));
  }
  window.addEventListener("error", (e) => noteError(e.message || "error loading " + (e.target && e.target.tagName)), true);
  window.addEventListener("unhandledrejection", (e) => noteError(e.reason && e.reason.message ? e.reason.message : e.reason));

  /* h("div", {class: "x", text: "y"}, child, [children]) */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k === "on") for (const ev of Object.keys(v)) el.addEventListener(ev, v[ev]);
        else if (k === "props") Object.assign(el, v);
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
  /* Replaces el's children (one DOM write instead of many). */
  function fill(el) {
    const frag = document.createDocumentFragment();
    for (let i = 1; i < arguments.length; i++) add(frag, arguments[i]);
    el.replaceChildren(frag);
    return el;
  }

  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const num = (v) => (typeof v === "number" && isFinite(v) ? v : null);
  const obj = (v) => (isObj(v) ? v : {});
  const arr = (v) => (Array.isArray(v) ? v : []);
  const str = (v, def) => (typeof v === "string" && v !== "" ? v : def);

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
    return v == null ? "—" : fmtNum(v) + "/s";
  }
  function fmtRateShort(v) {
    v = num(v);
    if (v == null || Math.abs(v) < 10000) return fmtRate(v);
    if (Math.abs(v) < 1e6) return trimZeros((v / 1000).toFixed(1)) + "k/s";
    return trimZeros((v / 1e6).toFixed(2)) + "M/s";
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
    if (s < 60) return trimZeros(s.toFixed(s < 10 ? 1 : 0)) + " s";
    const hours = Math.floor(s / 3600);
    const min = Math.floor((s % 3600) / 60);
    const sec = Math.floor(s % 60);
    if (hours > 0) return hours + " h " + String(min).padStart(2, "0") + " min";
    return min + " min " + String(sec).padStart(2, "0") + " s";
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
  function human(key) {
    return String(key).replace(/_/g, " ");
  }
  /* A long text from the run (a URL, a script error) cut for a cell; the whole in a title. */
  function cut(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n) + "…" : s;
  }
  function codeClass(code) {
    const c = String(code)[0];
    return c >= "1" && c <= "5" ? "c" + c : "cx";
  }
  function pill(text, kind, noDot) {
    return h("span", { class: "pill " + (kind || "") }, noDot ? null : h("span", { class: "dot", "aria-hidden": "true" }), text);
  }
  function shareBar(frac, cls) {
    const i = h("i");
    i.style.width = Math.max(0, Math.min(100, (num(frac) || 0) * 100)).toFixed(2) + "%";
    return h("div", { class: "bar " + (cls || ""), "aria-hidden": "true" }, i);
  }

  window.SurgeUI = {
    noteError, h, add, fill, isObj, num, obj, arr, str, trimZeros,
    fmtInt, fmtNum, fmtRate, fmtRateShort, fmtMs, fmtPct, fmtBytes, fmtDuration, fmtClock,
    human, cut, codeClass, pill, shareBar,
  };
})();
