/* surge live page: uPlot charts that grow once a second. One x axis of seconds for all of
 * them: the cursor moves on every chart at once, a drag zooms every chart to the same span
 * (double-click: back to the whole run, following the new seconds again), and each marker (a
 * control that took effect, a bound hit) is drawn on every chart with its label. Styled as
 * the saved report's charts (web/report/report.js), so the live view and the report match. */
(function () {
  "use strict";
  const U = window.SurgeUI;
  const { h, num } = U;

  const COLORS = {
    rps: "#2563eb", target: "#64748b", users: "#7c3aed", errors: "#dc2626", dropped: "#ea580c", late: "#d97706",
    p50: "#2563eb", p90: "#0891b2", p95: "#f59e0b", p99: "#dc2626", max: "#475569",
    kinds: ["#dc2626", "#ea580c", "#9333ea", "#d97706", "#db2777", "#7c2d12", "#0891b2", "#475569"],
    series: ["#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#475569", "#b45309", "#0f766e"],
  };
  const CODE_COLORS = { 2: ["#16a34a", "#22c55e", "#15803d"], 3: ["#2563eb", "#3b82f6"], 4: ["#f59e0b", "#d97706", "#b45309", "#fbbf24"], 5: ["#dc2626", "#b91c1c", "#ef4444", "#991b1b"] };
  /* elapsed-time ticks fall on round seconds and minutes */
  const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  const SYNC_KEY = "surge-live";

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  /* A status code's colour: its class's hue, a different shade for each code of the class. */
  function codeColor(code, indexInClass) {
    const list = CODE_COLORS[String(code)[0]] || ["#94a3b8", "#64748b"];
    return list[indexInClass % list.length];
  }

  /* Every chart on the page, for the shared zoom and markers. */
  const group = {
    charts: new Set(),
    zoom: null, /* [min, max] the user dragged, or null: the whole run, following */
    markers: () => [],
    long: false, /* x labels as clock times once the run is past two minutes */
    setZoom(range) {
      this.zoom = range;
      for (const c of this.charts) c.applyZoom();
    },
  };

  /* The markers plugin: a dashed line at each marker's t, its label at the top; labels that
   * would overlap the previous one go a row lower. */
  function drawMarkers(u) {
    const list = group.markers();
    if (!list.length) return;
    const ctx = u.ctx;
    const top = u.bbox.top;
    const bottom = u.bbox.top + u.bbox.height;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.font = Math.round(10.5 * dpr) + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left"; /* uPlot leaves the axes' alignment set */
    let lastEnd = -Infinity;
    let row = 0;
    for (const m of list) {
      const t = num(m.t);
      if (t == null || t < u.scales.x.min || t > u.scales.x.max) continue;
      const x = Math.round(u.valToPos(t, "x", true));
      ctx.strokeStyle = m.kind === "bound" ? "rgba(220,38,38,0.75)" : "rgba(15,23,42,0.55)";
      ctx.lineWidth = dpr;
      ctx.setLineDash([4 * dpr, 3 * dpr]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      const label = String(m.what || "").slice(0, 48);
      const w = ctx.measureText(label).width + 8 * dpr;
      row = x < lastEnd ? (row + 1) % 3 : 0;
      const y = top + 2 * dpr + row * 15 * dpr;
      const lx = Math.min(x + 3 * dpr, u.bbox.left + u.bbox.width - w);
      ctx.fillStyle = "rgba(255,255,255,0.9)";
      ctx.fillRect(lx, y, w, 14 * dpr);
      ctx.fillStyle = "#0f172a";
      ctx.fillText(label, lx + 4 * dpr, y + 1.5 * dpr);
      lastEnd = Math.max(lastEnd, lx + w);
    }
    ctx.restore();
  }

  /* spec: {name, yFmt, height, headroom, series: [{label, color, dash, fill, width, fmt}]} */
  function LiveChart(host, spec) {
    this.host = host;
    this.spec = spec;
    this.u = null;
    this.data = null;
    this.ready = false;
    group.charts.add(this);
  }

  LiveChart.prototype.options = function () {
    const spec = this.spec;
    const self = this;
    const axis = { stroke: "#64748b", font: "11px system-ui, sans-serif", grid: { stroke: "#eef2f7", width: 1 }, ticks: { stroke: "#e2e8f0", width: 1, size: 4 } };
    const xFmt = (v) => U.fmtClock(v, group.long);
    return {
      width: Math.max(240, this.host.clientWidth || 560),
      height: spec.height || 220,
      padding: [10, 14, 0, 2],
      cursor: { sync: { key: SYNC_KEY, setSeries: false }, points: { size: 7, width: 2 }, drag: { x: true, y: false, setScale: false } },
      legend: { show: true, live: true },
      scales: {
        x: { time: false, range: (u, min, max) => self.xRange(min, max) },
        /* headroom: a flat line (a target's memory) stays clear of the markers' labels */
        y: { range: (u, min, max) => [0, max > 0 ? max * (spec.headroom || 1.1) : 1] },
      },
      axes: [
        Object.assign({}, axis, { values: (u, vals) => vals.map(xFmt), incrs: TIME_INCRS, space: 50 }),
        Object.assign({}, axis, { size: 64, values: (u, vals) => vals.map((v) => spec.yFmt(v)) }),
      ],
      series: [{ label: "elapsed", value: (u, v, si, idx) => (idx == null ? "" : v == null ? "—" : "at " + U.fmtClock(v, true)) }].concat(spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width || 2,
        dash: s.dash,
        fill: s.fill ? alpha(s.color, 0.1) : undefined,
        points: { show: (u, si) => u.data[0].length < 3 },
        spanGaps: false,
        value: (u, v, si, idx) => (idx == null ? "" : v == null ? "—" : (s.fmt || spec.yFmt)(v)),
      }))),
      hooks: {
        draw: [drawMarkers],
        /* a drag zooms every chart to the same seconds */
        setSelect: [(u) => {
          if (u.select.width < 4) return;
          const min = u.posToVal(u.select.left, "x");
          const max = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          group.setZoom([min, max]);
        }],
        ready: [(u) => u.over.addEventListener("dblclick", () => group.setZoom(null))],
      },
    };
  };

  LiveChart.prototype.xRange = function (min, max) {
    if (group.zoom) return group.zoom.slice();
    if (min == null || max == null) return [0, 1];
    /* from the start of the first second shown (0 for a whole run: the Start marker shows) */
    return [Math.max(0, Math.floor(min) - 1), max === min ? max + 1 : max];
  };

  /* data: [x, y1, y2, ...] (columns, nulls for gaps). Draws when the host has a width. */
  LiveChart.prototype.setData = function (data) {
    this.data = data;
    if (!this.host.isConnected || this.host.clientWidth === 0) return;
    if (!this.u) {
      this.u = new uPlot(this.options(), data, this.host);
      this.host.dataset.chart = this.spec.name || "";
    } else {
      this.u.setData(data, true);
    }
    this.ready = true;
    this.host.dataset.points = String(data[0].length);
  };

  LiveChart.prototype.applyZoom = function () {
    if (this.u && this.data) this.u.setData(this.data, true);
  };

  LiveChart.prototype.redraw = function () {
    if (this.u) this.u.redraw(false, false);
  };

  LiveChart.prototype.resize = function () {
    if (!this.u) {
      if (this.data) this.setData(this.data);
      return;
    }
    const w = this.host.clientWidth;
    if (w > 0 && Math.abs(w - this.u.width) > 1) this.u.setSize({ width: w, height: this.u.height });
  };

  LiveChart.prototype.destroy = function () {
    if (this.u) this.u.destroy();
    this.u = null;
    group.charts.delete(this);
  };

  /* A card holding one chart: title, a hint, the host. */
  function chartCard(title, hint, name) {
    const host = h("div", { class: "chart", role: "img", "aria-label": title + " over time" });
    const card = h("div", { class: "card chart-card", "data-card": name || null },
      h("h3", null, h("span", null, title), hint ? h("span", { class: "hint" }, hint) : null), host);
    return { card, host };
  }

  function redrawAll() {
    for (const c of group.charts) c.redraw();
  }
  function resizeAll() {
    for (const c of group.charts) c.resize();
  }

  Object.assign(U, { COLORS, LiveChart, chartCard, chartGroup: group, codeColor, redrawAllCharts: redrawAll, resizeAllCharts: resizeAll });
})();
