/* surge live page: what the page knows of the run, from /api/snapshot, /api/state and the
 * events of /api/events (docs/ui.md). Events are taken in id order, once each: one whose id
 * is not above the last taken is a duplicate (a reconnect that overlapped) and is ignored; a
 * `second` replaces whatever the page held for that second (a `correction: true` republishes
 * a second a late delta changed). The tables take each endpoint's and tally's latest figures
 * so far; the charts read the seconds, with a gap (null) for any second the page never got.
 * Memory is bounded: the per-endpoint seconds kept for the endpoint charts are at most
 * EP_ROWS_MAX, the oldest dropped first (and the page says from which second it has them). */
(function () {
  "use strict";
  const U = window.SurgeUI;
  const { num, obj, arr, isObj } = U;

  const EP_ROWS_MAX = 300000; /* endpoint-seconds: 300 s of 1,000 endpoints */
  const MARKERS_MAX = 1000;

  function Store() {
    this.clear();
  }

  Store.prototype.clear = function () {
    this.lastId = 0;
    this.taken = 0;
    this.duplicates = 0;
    this.corrections = 0;
    this.secs = new Map(); /* second -> row (below) */
    this.minSec = null;
    this.maxSec = null;
    this.markers = [];
    this.total = null;
    this.dropped = {};
    this.endpoints = new Map(); /* method + " " + name -> {key, method, name, total} */
    this.epHist = new Map(); /* key -> [[second, t, rps, errors/s, p50, p95, p99, max]] by second */
    this.epBySec = new Map(); /* second -> [keys] (to drop the oldest second) */
    this.epRows = 0;
    this.epFloor = null; /* per-endpoint seconds below this one were dropped */
    this.tallies = new Map(); /* kind + NUL + name -> tally */
    this.targets = new Map(); /* second -> the scraped target's figures (--scrape) */
    this.shards = null; /* a distributed run's shards, as the coordinator last said */
    this.lastTarget = null;
    this.throttledSeen = false; /* a cgroup CPU quota's counters came with the figures */
    this.codes = new Set();
    this.kinds = new Set();
    this.state = null;
    this.stateSeq = 0; /* state events taken: a control's answer is older than a later one */
    this.stream = null; /* the server's stream tag */
    this.history = null; /* the first history note of this page */
    this.missed = 0; /* events the server dropped before this page read them */
    this.version = 0;
  };

  /* The run so far, for a page that joins: the tables start from it. */
  Store.prototype.applySnapshot = function (s) {
    if (!isObj(s)) return;
    if (isObj(s.total)) this.total = s.total;
    for (const e of arr(s.endpoints)) {
      if (!isObj(e)) continue;
      const ep = this.endpoint(e);
      if (isObj(e.total)) ep.total = e.total;
    }
    for (const t of arr(s.tallies)) if (isObj(t)) this.tallies.set(t.kind + "\u0000" + t.name, t);
    if (isObj(s.dropped)) this.dropped = s.dropped;
    this.snapshotDuration = num(s.duration_s);
    this.version++;
  };

  /* An endpoint is its method and name: the same across a reset of the statistics. */
  Store.prototype.endpoint = function (e) {
    const key = String(e.method || "") + " " + String(e.name || "");
    let ep = this.endpoints.get(key);
    if (!ep) {
      ep = { key, method: String(e.method || ""), name: String(e.name || ""), total: null };
      this.endpoints.set(key, ep);
    }
    return ep;
  };

  /* The server's note that opens each connection: {stream, first_id, last_id, next_id,
   * dropped, missed, reset}. Returns "reset" when this is another run's stream (the page must
   * start afresh). */
  Store.prototype.applyHistory = function (note) {
    if (!isObj(note)) return null;
    if (note.reset === true || (this.stream != null && note.stream != null && note.stream !== this.stream)) return "reset";
    if (note.stream != null) this.stream = note.stream;
    if (!this.history) this.history = note;
    this.missed += num(note.missed) || 0;
    this.version++;
    return null;
  };

  /* One event of the stream; id is its SSE id (a number), or null. True when taken. */
  Store.prototype.ingest = function (ev, id) {
    if (id != null) {
      if (id <= this.lastId) {
        this.duplicates++;
        return false;
      }
      this.lastId = id;
    }
    if (!isObj(ev)) return false;
    this.taken++;
    switch (ev.type) {
    case "second": this.second(ev); break;
    case "marker":
      this.markers.push({ t: num(ev.t), what: String(ev.what || ""), kind: ev.kind || null, id });
      if (this.markers.length > MARKERS_MAX) this.markers.shift();
      if (ev.kind === "reset" || (ev.kind == null && /\breset\b/i.test(String(ev.what)))) this.resetStatistics();
      break;
    case "target": this.target(ev); break;
    case "shards": this.shards = ev; break; /* a coordinator's: the newest is the state */
    case "state":
      this.state = ev;
      this.stateSeq++;
      break;
    case "snapshot": this.applySnapshot(ev); break;
    default: return false;
    }
    this.version++;
    return true;
  };

  /* Reset statistics took effect: the tables start again from the events after it (a page
   * that replays the history goes through the same reset at the same place). The charts keep
   * the seconds: the marker shows where the reset was. */
  Store.prototype.resetStatistics = function () {
    this.total = null;
    this.endpoints.clear();
    this.tallies.clear();
    this.resets = (this.resets || 0) + 1;
  };

  Store.prototype.second = function (ev) {
    const sec = num(ev.second);
    if (sec == null) return;
    const run = obj(ev.run);
    const len = num(ev.length_s) || 1;
    const lat = obj(run.latency_ms);
    const row = {
      second: sec,
      t: num(ev.t) != null ? ev.t : sec + len,
      len,
      requests: num(run.requests),
      errors: num(run.errors),
      error_rate: num(run.error_rate),
      rps: num(run.rps),
      errps: num(run.errors) != null ? run.errors / len : null,
      p50: num(lat.p50), p90: num(lat.p90), p95: num(lat.p95), p99: num(lat.p99), max: num(lat.max),
      users: num(run.users),
      target: num(run.target),
      due: num(run.due),
      due_late: num(run.due_late),
      lateps: num(run.late) != null ? run.late / len : null,
      droppedps: num(run.dropped) != null ? run.dropped / len : null,
      cpu: num(run.busiest_cpu),
      lag_p99: num(obj(run.sched_lag_ms).p99),
      svc_p99: num(obj(run.service_ms).p99),
      codes: obj(run.status_codes),
      kinds: obj(run.errors_by_kind),
    };
    if (this.secs.has(sec) && ev.correction === true) this.corrections++;
    this.secs.set(sec, row);
    if (this.minSec == null || sec < this.minSec) this.minSec = sec;
    if (this.maxSec == null || sec > this.maxSec) this.maxSec = sec;
    for (const c of Object.keys(row.codes)) this.codes.add(c);
    for (const k of Object.keys(row.kinds)) this.kinds.add(k);
    if (isObj(ev.total)) this.total = ev.total;
    if (isObj(ev.dropped)) this.dropped = ev.dropped;
    /* the endpoints with requests in this second; their figures so far come in the
     * snapshot published after it */
    for (const e of arr(ev.endpoints)) {
      if (!isObj(e)) continue;
      const ep = this.endpoint(e);
      this.endpointSecond(ep.key, sec, row.t, len, obj(e.second));
    }
    for (const t of arr(ev.tallies)) if (isObj(t)) this.tallies.set(t.kind + "\u0000" + t.name, t);
  };

  /* --scrape: a second's target figures, final (the result's timeline holds the same); they
   * come a second or so after the second itself. Bounded as the seconds are: one per second. */
  Store.prototype.target = function (ev) {
    const sec = num(ev.second);
    if (sec == null) return;
    const row = {
      second: sec,
      t: num(ev.t),
      cpu: num(ev.cpu_cores),
      cpuLimit: num(ev.cpu_limit_cores),
      capacity: num(ev.cpu_capacity_cores),
      basis: ev.cpu_basis == null ? null : String(ev.cpu_basis),
      throttled: num(ev.throttled_share),
      rss: num(ev.rss_bytes),
      memLimit: num(ev.memory_limit_bytes),
    };
    this.targets.set(sec, row);
    if (row.throttled != null) this.throttledSeen = true;
    /* the latest with a CPU figure (a final sliver of a second has none) */
    const last = this.lastTarget;
    if (!last || (sec >= last.second && (row.cpu != null || last.cpu == null))) this.lastTarget = row;
  };

  Store.prototype.endpointSecond = function (key, sec, t, len, s) {
    if (this.epFloor != null && sec < this.epFloor) return;
    const l = obj(s.latency_ms);
    const rec = [sec, t, num(s.rps), num(s.errors) != null ? s.errors / len : null, num(l.p50), num(l.p95), num(l.p99), num(l.max)];
    let hist = this.epHist.get(key);
    if (!hist) this.epHist.set(key, (hist = []));
    /* in order but for a correction, which replaces its second */
    let i = hist.length;
    while (i > 0 && hist[i - 1][0] > sec) i--;
    if (i > 0 && hist[i - 1][0] === sec) {
      hist[i - 1] = rec;
      return;
    }
    hist.splice(i, 0, rec);
    let keys = this.epBySec.get(sec);
    if (!keys) this.epBySec.set(sec, (keys = []));
    keys.push(key);
    if (++this.epRows > EP_ROWS_MAX) this.dropOldestEndpointSecond();
  };

  Store.prototype.dropOldestEndpointSecond = function () {
    let oldest = null;
    for (const s of this.epBySec.keys()) if (oldest == null || s < oldest) oldest = s;
    if (oldest == null) return;
    for (const key of this.epBySec.get(oldest)) {
      const hist = this.epHist.get(key);
      if (hist && hist.length && hist[0][0] === oldest) {
        hist.shift();
        this.epRows--;
      }
    }
    this.epBySec.delete(oldest);
    this.epFloor = oldest + 1;
  };

  /* The last second to draw: a final sliver of a second (the run ended just after a second
   * began) is noise as a rate, as in the saved report; its counts are in the totals. */
  Store.prototype.endSec = function () {
    if (this.maxSec == null) return null;
    const row = this.secs.get(this.maxSec);
    return row && row.len < 0.2 && this.maxSec > this.minSec && this.secs.has(this.maxSec - 1) ? this.maxSec - 1 : this.maxSec;
  };

  /* Columns for a chart: x (the end of each second) and one column per getter, every second
   * from the first to the last held; a second the page does not have is a gap (null). */
  Store.prototype.columns = function (getters) {
    const x = [];
    const ys = getters.map(() => []);
    if (this.minSec == null) return [x].concat(ys);
    const end = this.endSec();
    for (let s = this.minSec; s <= end; s++) {
      const row = this.secs.get(s);
      x.push(row ? row.t : s + 1);
      for (let i = 0; i < getters.length; i++) ys[i].push(row ? getters[i](row) : null);
    }
    return [x].concat(ys);
  };

  /* One endpoint's columns: [x, rps, errors/s, p50, p95, p99, max] over the seconds held. */
  Store.prototype.endpointColumns = function (key) {
    const hist = this.epHist.get(key) || [];
    const out = [[], [], [], [], [], [], []];
    if (this.minSec == null) return out;
    const from = Math.max(this.minSec, this.epFloor == null ? this.minSec : this.epFloor);
    let j = 0;
    while (j < hist.length && hist[j][0] < from) j++;
    const end = this.endSec();
    for (let s = from; s <= end; s++) {
      const row = this.secs.get(s);
      out[0].push(row ? row.t : s + 1);
      if (j < hist.length && hist[j][0] === s) {
        const r = hist[j++];
        for (let k = 2; k < 8; k++) out[k - 1].push(r[k]);
      } else if (row) {
        /* the endpoint had no request in a second the page has: 0/s, and no latency */
        out[1].push(0);
        out[2].push(0);
        for (let k = 3; k < 7; k++) out[k].push(null);
      } else {
        for (let k = 1; k < 7; k++) out[k].push(null);
      }
    }
    return out;
  };

  /* Seconds missing between the first and the last held: [[from, to], ...]. */
  Store.prototype.gaps = function () {
    const out = [];
    if (this.minSec == null) return out;
    let start = null;
    for (let s = this.minSec; s <= this.maxSec + 1; s++) {
      const have = s > this.maxSec || this.secs.has(s);
      if (!have && start == null) start = s;
      if (have && start != null) {
        out.push([start, s - 1]);
        start = null;
      }
    }
    return out;
  };

  Store.prototype.last = function () {
    return this.maxSec == null ? null : this.secs.get(this.endSec());
  };

  Store.prototype.tallyList = function (kind) {
    const out = [];
    for (const t of this.tallies.values()) if (t.kind === kind) out.push(t);
    return out;
  };

  U.Store = Store;
})();
