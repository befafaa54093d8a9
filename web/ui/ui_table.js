/* surge live page: a table of any number of rows, sortable by any column and filterable by
 * text, that stays fast at thousands of rows — only the rows in view are in the DOM (spacer
 * rows above and below keep the scroll bar true), and new figures are drawn at most once a
 * second. Nothing is truncated: every row is reachable by scrolling, sorting or filtering. */
(function () {
  "use strict";
  const U = window.SurgeUI;
  const { h, fill } = U;

  const ROW_HEIGHT = 33; /* px: ui.css .vtable td height + border */
  const OVERSCAN = 8;

  /* cols: [{key, label, num, value(row) -> sort key, cell(row) -> text or Node, cls, title(row)}]
   * opts: {name, rowKey(row), onSelect(row), selected(), filterText(row), defaultSort: {key, desc},
   *        summary() -> cells of a pinned first row or null, empty: text} */
  function VirtualTable(opts) {
    this.opts = opts;
    this.cols = opts.cols;
    this.rows = [];
    this.view = [];
    this.sort = Object.assign({ key: opts.cols[0].key, desc: false }, opts.defaultSort || {});
    this.filter = "";
    this.pending = 0;

    this.input = h("input", { type: "search", class: "filter", placeholder: "Filter by method or name", "aria-label": "Filter " + (opts.name || "rows") });
    this.input.addEventListener("input", () => {
      this.filter = this.input.value.trim().toLowerCase();
      this.scroller.scrollTop = 0;
      this.refresh();
    });
    this.count = h("span", { class: "count", role: "status" });
    this.headRow = h("tr");
    this.summaryRow = h("tr", { class: "summary" });
    this.body = h("tbody");
    this.table = h("table", { class: "vtable", "data-table": opts.name || null },
      h("thead", null, this.headRow, this.summaryRow), this.body);
    this.scroller = h("div", { class: "vscroll", tabindex: "0", "aria-label": (opts.name || "table") + ", scrollable" }, this.table);
    this.scroller.addEventListener("scroll", () => this.schedule());
    this.el = h("div", { class: "vtable-wrap" }, h("div", { class: "table-tools" }, this.input, this.count), this.scroller);
    this.buildHead();
  }

  VirtualTable.prototype.buildHead = function () {
    fill(this.headRow, this.cols.map((c) => {
      const active = this.sort.key === c.key;
      const b = h("button", { type: "button", class: "sort", "data-key": c.key }, c.label, h("span", { class: "arrow", "aria-hidden": "true" }, active ? (this.sort.desc ? " ▼" : " ▲") : ""));
      b.addEventListener("click", () => {
        if (this.sort.key === c.key) this.sort.desc = !this.sort.desc;
        else this.sort = { key: c.key, desc: !!c.num };
        this.buildHead();
        this.refresh();
      });
      return h("th", { class: (c.num ? "num " : "") + (c.cls || ""), scope: "col", "aria-sort": active ? (this.sort.desc ? "descending" : "ascending") : "none" }, b);
    }));
  };

  /* New rows (the whole list): sorted, filtered and drawn on the next frame. */
  VirtualTable.prototype.setRows = function (rows) {
    this.rows = rows;
    this.refresh();
  };

  VirtualTable.prototype.refresh = function () {
    const col = this.cols.find((c) => c.key === this.sort.key) || this.cols[0];
    const f = this.filter;
    const text = this.opts.filterText;
    let view = f ? this.rows.filter((r) => text(r).toLowerCase().indexOf(f) >= 0) : this.rows.slice();
    const dir = this.sort.desc ? -1 : 1;
    const key = this.opts.rowKey;
    /* nulls last whatever the direction; ties by the row's key, so rows do not jump */
    view.sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      if (x == null || y == null) return x == null && y == null ? 0 : x == null ? 1 : -1;
      if (x < y) return -dir;
      if (x > y) return dir;
      const ka = key(a);
      const kb = key(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    this.view = view;
    this.count.textContent = (f ? view.length.toLocaleString("en-US") + " of " : "") + this.rows.length.toLocaleString("en-US") + " " + (this.opts.unit || "rows");
    this.schedule();
  };

  VirtualTable.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  };

  VirtualTable.prototype.draw = function () {
    const n = this.view.length;
    const summary = this.opts.summary ? this.opts.summary() : null;
    if (summary) fill(this.summaryRow, summary.map((cell, i) => h("td", { class: this.cols[i] && this.cols[i].num ? "num" : this.cols[i] && this.cols[i].cls }, cell)));
    this.summaryRow.hidden = !summary;
    if (!n) {
      fill(this.body, h("tr", null, h("td", { colspan: String(this.cols.length), class: "empty" }, this.rows.length ? "No row matches the filter." : this.opts.empty || "Nothing yet.")));
      return;
    }
    const height = this.scroller.clientHeight || 480;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, first + Math.ceil(height / ROW_HEIGHT) + 2 * OVERSCAN);
    const selected = this.opts.selected ? this.opts.selected() : null;
    const key = this.opts.rowKey;
    const trs = [];
    if (first > 0) trs.push(spacer(first * ROW_HEIGHT, this.cols.length));
    for (let i = first; i < last; i++) {
      const r = this.view[i];
      const k = key(r);
      const tr = h("tr", { class: k === selected ? "selected" : null, "data-key": String(k), "aria-rowindex": String(i + 2) });
      for (const c of this.cols) {
        const v = c.cell(r);
        tr.append(h("td", { class: ((c.num ? "num " : "") + (c.cls || "") + (c.bad && c.bad(r) ? " bad" : "")).trim() || null, title: c.title ? c.title(r) : null }, v));
      }
      if (this.opts.onSelect) tr.addEventListener("click", (e) => { if (!e.target.closest("button")) this.opts.onSelect(r); });
      trs.push(tr);
    }
    if (last < n) trs.push(spacer((n - last) * ROW_HEIGHT, this.cols.length));
    fill(this.body, trs);
    this.table.setAttribute("aria-rowcount", String(n + 1));
  };

  function spacer(px, span) {
    const td = h("td", { colspan: String(span) });
    td.style.height = px + "px";
    td.style.padding = "0";
    td.style.border = "0";
    return h("tr", { class: "spacer", "aria-hidden": "true" }, td);
  }

  U.VirtualTable = VirtualTable;
})();
