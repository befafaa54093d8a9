// The live UI of a running `surge run --ui`, driven in a real browser: Playwright's library
// (playwright-core, pinned by tests/browser/package-lock.json) with Debian's Chromium,
// headless. tests/integration/test_ui.py starts surge and runs this; by hand:
//
//   node build/browser/ui.mjs --url http://127.0.0.1:8089/ --shots build/ui-shots
//
// Steps, each with a screenshot in --shots (NN-step.png): open the page; set users and spawn
// rate (or the rate, open model) and a scenario's first class's weight, and Start; see
// requests/s and the users (or rate) chart move; change the load mid-run and see the chart
// follow; open an endpoint's charts; with --scrape, see the Target tab chart the target's
// CPU and memory; reload mid-run and find every second again, once, with no gap and the same
// figures; Stop; download the result, the HTML report and the CSVs; Quit. Prints one JSON line
// per step ({"step", "ok", "ms", ...}) and last {"done": true, "downloads": {name: path}} for the
// Python test to check against the result document. Exit status 0 when every step passed.
import fs from "node:fs";
import path from "node:path";

import { options, session } from "./steps.mjs";

const o = options(process.argv.slice(2), {
  url: null, shots: "build/ui-shots", downloads: null, browser: "/usr/bin/chromium",
  users: 10, spawnRate: 10, users2: 20, rate: 50, rate2: 100,
  moveBudgetMs: 2000, stepTimeoutMs: 30000, width: 1280, height: 800,
}, { "--url": "url", "--shots": "shots", "--downloads": "downloads", "--browser": "browser", "--users": "users",
  "--spawn-rate": "spawnRate", "--users2": "users2", "--rate": "rate", "--rate2": "rate2", "--move-budget-ms": "moveBudgetMs",
  "--step-timeout-ms": "stepTimeoutMs", "--width": "width", "--height": "height" }, "ui.mjs");
o.downloads = o.downloads || path.join(o.shots, "downloads");
fs.mkdirSync(o.shots, { recursive: true });
fs.mkdirSync(o.downloads, { recursive: true });

const s = await session(o);
const { until, step } = s;
let page = null;

/* The last non-null value of a chart's column; the chart's data as the page drew it. */
const lastOf = (col) => {
  for (let i = col.length - 1; i >= 0; i--) if (col[i] != null) return col[i];
  return null;
};

let failed = false;
const downloads = {};
try {
  page = await s.open({ acceptDownloads: true });
  let model = "closed";

  await step("open", async () => {
    await page.goto(o.url, { waitUntil: "load" });
    const seen = await until("the page knows the run's state and follows its events", () => {
      const s = window.surgeLive && window.surgeLive.state();
      return { ok: !!(s && s.state && document.body.dataset.connection === "live"), state: s && s.state, connection: document.body.dataset.connection };
    });
    if (seen.state !== "waiting") throw new Error(`expected the run to wait for Start (run without -d/-n), it is ${seen.state}`);
    model = await page.evaluate(() => window.surgeLive.state().model);
    return { model };
  });

  /* Start, then watch for the charts to move at once: the time is measured from Start's answer
   * to the first poll that sees them move, before any screenshot is taken */
  let moved = null;
  await step("start", async () => {
    if (model === "open") {
      await page.fill("#f-rate", String(o.rate));
    } else {
      await page.fill("#f-users", String(o.users));
      await page.fill("#f-spawn", String(o.spawnRate));
    }
    /* a scenario's classes: the first one's weight changed in its box goes with Start */
    const weights = await page.$$("input[data-weight]");
    let weighed = null;
    if (weights.length) {
      weighed = { name: await weights[0].getAttribute("data-weight"), weight: 2 };
      await weights[0].fill(String(weighed.weight));
    }
    const [r] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/control/start")), page.click('button[data-control="start"]')]);
    const startedAt = Date.now();
    if (r.status() !== 200) throw new Error(`Start answered ${r.status()}: ${await r.text()}`);
    if (weighed) {
      const c = ((await r.json()).classes || []).find((x) => x.name === weighed.name);
      if (!c || c.weight !== weighed.weight) throw new Error(`class ${weighed.name}: weight ${weighed.weight} typed, the run has ${JSON.stringify(c)}`);
    }
    const load = model === "open" ? "rate" : "users";
    const seen = await until("requests/s and the " + load + " chart move", (load) => {
      const rps = window.surgeLive.chartData("rps");
      const l = window.surgeLive.chartData(load);
      const pos = (col) => col && col.some((v) => v != null && v > 0);
      return { ok: !!(document.body.dataset.state === "running" && rps && l && pos(rps[1]) && pos(l[1]) && window.surgeLive.chartDrawn("rps") && window.surgeLive.chartDrawn(load)),
        state: document.body.dataset.state, rps: rps && rps[1].slice(-3), load: l && l[1].slice(-3) };
    }, load, o.moveBudgetMs + 10000);
    moved = { after_start_ms: Date.now() - startedAt, rps: seen.rps, load: seen.load };
    return {};
  });

  await step("moving", async () => {
    if (moved.after_start_ms > o.moveBudgetMs) throw new Error(`the charts moved ${moved.after_start_ms} ms after Start was answered (budget ${o.moveBudgetMs} ms)`);
    return moved;
  });

  await step("change-load", async () => {
    const before = await page.evaluate(() => window.surgeLive.markers().length);
    if (model === "open") {
      await page.fill("#f-rate", String(o.rate2));
    } else {
      await page.fill("#f-users", String(o.users2));
      await page.fill("#f-spawn", String(o.spawnRate));
    }
    const [r] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/control/load")), page.click('button[data-control="load"]')]);
    if (r.status() !== 200) throw new Error(`load answered ${r.status()}: ${await r.text()}`);
    const want = model === "open" ? o.rate2 : o.users2;
    /* the target follows at once; users follow at the spawn rate (the rate's achieved figure
     * depends on the target, so for it the asked line is what must follow) */
    const follow = Math.ceil((Math.abs(o.users2 - o.users) / Math.max(o.spawnRate, 0.1)) * 1000) + 8000;
    const seen = await until("the chart follows the new load", ([model, want, before]) => {
      const d = window.surgeLive.chartData(model === "open" ? "rate" : "users");
      if (!d) return { ok: false };
      const col = (i) => d[i].filter((v) => v != null);
      const target = col(model === "open" ? 1 : 2).pop();
      const users = model === "open" ? null : col(1).pop();
      const markers = window.surgeLive.markers();
      return { ok: target === want && (model === "open" || users === want) && markers.length > before, target, users, markers: markers.slice(before).map((m) => m.what) };
    }, [model, want, before], follow);
    return { target: seen.target, users: seen.users, markers: seen.markers };
  });

  await step("endpoint-chart", async () => {
    await page.click('button[data-tab="endpoints"]');
    await page.waitForSelector('table[data-table="endpoints"] tbody tr[data-key] button.link', { timeout: o.stepTimeoutMs });
    const name = await page.textContent('table[data-table="endpoints"] tbody tr[data-key] button.link');
    await page.click('table[data-table="endpoints"] tbody tr[data-key] button.link');
    const seen = await until("the endpoint's charts show its seconds", () => {
      const rps = window.surgeLive.chartData("ep-rps");
      const lat = window.surgeLive.chartData("ep-latency");
      return { ok: !!(rps && lat && rps[1].some((v) => v > 0) && lat[1].some((v) => v != null) && window.surgeLive.chartDrawn("ep-rps")), points: rps && rps[0].length };
    });
    return { endpoint: name, points: seen.points };
  });

  /* with --scrape: the Target tab charts the target's CPU and memory under the load */
  if (await page.evaluate(() => !!(window.surgeLive.state() || {}).scrape)) {
    await step("target", async () => {
      await page.click('button[data-tab="target"]');
      const seen = await until("the target's CPU and memory charted", () => {
        const cpu = window.surgeLive.chartData("target-cpu");
        const mem = window.surgeLive.chartData("target-memory");
        const some = (col) => col && col.some((v) => v != null && v > 0);
        const n = window.surgeLive.targets().length; /* a few seconds of them: a line */
        return { ok: !!(n >= 3 && cpu && mem && some(cpu[1]) && some(mem[1]) && window.surgeLive.chartDrawn("target-cpu")), targets: n };
      });
      return { targets: seen.targets };
    });
  }

  await step("reload", async () => {
    /* let more seconds come, so the reload is mid-run with history behind it: at least 8
     * (the last 4 may still be corrected, the others must come back the same) */
    const now = await page.evaluate(() => window.surgeLive.seconds().length);
    await until("more seconds", (n) => ({ ok: window.surgeLive.seconds().length >= n, n: window.surgeLive.seconds().length }), Math.max(now + 2, 8));
    const before = await page.evaluate(() => window.surgeLive.seconds().map((s) => [s, window.surgeLive.second(s).requests]));
    await page.reload({ waitUntil: "load" });
    const after = await until("the history is back", (n) => {
      const secs = window.surgeLive.seconds();
      return { ok: document.body.dataset.connection === "live" && secs.length >= n, n: secs.length };
    }, before.length);
    await page.click('button[data-tab="charts"]');
    await until("the charts are drawn again", () => ({ ok: window.surgeLive.chartDrawn("rps") }));
    const check = await page.evaluate(() => {
      const secs = window.surgeLive.seconds();
      const rps = window.surgeLive.chartData("rps");
      return { secs, rows: secs.map((s) => [s, window.surgeLive.second(s).requests]), gaps: window.surgeLive.gaps(), duplicates: window.surgeLive.duplicates(), x: rps && rps[0], y: rps && rps[1] };
    });
    const s = check.secs;
    if (new Set(s).size !== s.length) throw new Error("a second is held twice: " + s.join(","));
    for (let i = 1; i < s.length; i++) if (s[i] !== s[i - 1] + 1) throw new Error(`a gap in the seconds after the reload: ${s[i - 1]} then ${s[i]}`);
    if (s[0] !== before[0][0]) throw new Error(`the history starts at second ${s[0]} after the reload, ${before[0][0]} before`);
    if (check.gaps.length) throw new Error("the page reports missing seconds: " + JSON.stringify(check.gaps));
    if (!check.y || check.y.some((v) => v == null)) throw new Error("the requests/s chart has a gap after the reload");
    /* the same figures for the seconds both saw (the last few may still be corrected) */
    const again = new Map(check.rows);
    for (const [sec, requests] of before.slice(0, -4)) {
      if (again.get(sec) !== requests) throw new Error(`second ${sec}: ${requests} requests before the reload, ${again.get(sec)} after`);
    }
    return { seconds_before: before.length, seconds_after: s.length, first: s[0], last: s[s.length - 1] };
  });

  await step("stop", async () => {
    const [r] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/control/stop")), page.click('button[data-control="stop"]')]);
    if (r.status() !== 200) throw new Error(`stop answered ${r.status()}: ${await r.text()}`);
    await until("the run stops", () => ({ ok: document.body.dataset.state === "stopped", state: document.body.dataset.state }), 60000);
    return {};
  });

  await step("downloads", async () => {
    const links = await page.$$eval("a[data-download]", (as) => as.map((a) => a.dataset.download));
    for (const name of ["result.json", "report.html", "stats.csv", "stats_history.csv", "failures.csv"]) {
      if (!links.includes(name)) throw new Error(`no download link for ${name} (have ${links.join(", ")})`);
      const waiting = page.waitForEvent("download", { timeout: o.stepTimeoutMs });
      await page.click(`a[data-download="${name}"]`);
      const d = await waiting;
      const file = path.resolve(o.downloads, name);
      await d.saveAs(file);
      const failure = await d.failure();
      if (failure) throw new Error(`${name}: ${failure}`);
      if (!fs.statSync(file).size) throw new Error(`${name} is empty`);
      downloads[name] = file;
    }
    return { files: Object.keys(downloads).length };
  });

  await step("quit", async () => {
    const [r] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/control/quit")), page.click('button[data-control="quit"]')]);
    if (r.status() !== 200) throw new Error(`quit answered ${r.status()}: ${await r.text()}`);
    await until("the page says the run has ended", () => ({ ok: document.body.dataset.connection === "ended" }));
    return {};
  });
} catch (e) {
  failed = true;
}
process.exit(await s.end(failed, { downloads }));
