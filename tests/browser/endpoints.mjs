// The live UI's endpoint table with a thousand endpoints, in a real browser (Debian's Chromium,
// headless, through Playwright's library): every endpoint listed with nothing cut, the last one
// reached by scrolling, the list filtered by text and sorted by a column, and one endpoint's
// charts opened — while the run goes on. tests/integration/test_ui.py starts surge and runs
// this; by hand:
//
//   node build/browser/endpoints.mjs --url http://127.0.0.1:8089/ --endpoints 1000
//
// Prints one JSON line per step and a closing {"done": true}; exit status 0 when all passed.
import { options, session } from "./steps.mjs";

const o = options(process.argv.slice(2), {
  url: null, shots: "build/ui-shots/endpoints", browser: "/usr/bin/chromium", endpoints: 1000,
  filter: "ep/09", matches: 100, stepTimeoutMs: 30000, width: 1280, height: 800,
}, { "--url": "url", "--shots": "shots", "--browser": "browser", "--endpoints": "endpoints",
  "--filter": "filter", "--matches": "matches", "--step-timeout-ms": "stepTimeoutMs" }, "endpoints.mjs");

const s = await session(o);
const { until, step } = s;
const TABLE = 'table[data-table="endpoints"]';
const WRAP = `.vtable-wrap:has(${TABLE})`;
const n = o.endpoints.toLocaleString("en-US");
let failed = false;
try {
  const page = await s.open();

  await step("endpoints-all-listed", async () => {
    await page.goto(o.url + "#endpoints", { waitUntil: "load" });
    const seen = await until(`the table lists ${n} endpoints`, (arg) => {
      const count = document.querySelector(arg.wrap + " .count");
      const rows = document.querySelectorAll(arg.table + " tbody tr[data-key]").length;
      return { ok: !!(count && count.textContent === arg.n + " endpoints" && rows > 0), count: count && count.textContent, rows, endpoints: window.surgeLive.endpoints() };
    }, { wrap: WRAP, table: TABLE, n });
    /* only the rows in view are drawn: the DOM stays small whatever the count */
    if (seen.rows > 80) throw new Error(`${seen.rows} rows drawn for a view of ~25`);
    return { count: seen.count, drawn: seen.rows };
  });

  await step("endpoints-scrolled-to-the-last", async () => {
    await page.evaluate((wrap) => { const sc = document.querySelector(wrap + " .vscroll"); sc.scrollTop = sc.scrollHeight; }, WRAP);
    const seen = await until("the last endpoint drawn at the bottom", (arg) => {
      const rows = Array.from(document.querySelectorAll(arg.table + " tbody tr[data-key]"));
      const last = rows[rows.length - 1];
      return { ok: !!(last && last.getAttribute("aria-rowindex") === String(arg.count + 1)), index: last && last.getAttribute("aria-rowindex"), key: last && last.dataset.key };
    }, { table: TABLE, count: o.endpoints });
    return { last: seen.key };
  });

  await step("endpoints-filtered", async () => {
    await page.fill(WRAP + " input.filter", o.filter);
    const seen = await until(`"${o.filter}" leaves ${o.matches}`, (arg) => {
      const count = document.querySelector(arg.wrap + " .count").textContent;
      const keys = Array.from(document.querySelectorAll(arg.table + " tbody tr[data-key]"), (r) => r.dataset.key);
      return { ok: count === arg.want && keys.length > 0 && keys.every((k) => k.toLowerCase().includes(arg.filter)), count, keys: keys.slice(0, 3) };
    }, { wrap: WRAP, table: TABLE, filter: o.filter, want: `${o.matches.toLocaleString("en-US")} of ${n} endpoints` });
    return { count: seen.count };
  });

  await step("endpoints-sorted", async () => {
    await page.click(`${TABLE} button.sort[data-key="requests"]`); /* a figure sorts largest first */
    const seen = await until("the rows in descending order of requests", (table) => {
      const th = document.querySelector(table + ' th:has(button.sort[data-key="requests"])');
      const cells = Array.from(document.querySelectorAll(table + " tbody tr[data-key]"), (r) => Number(r.children[2].textContent.replace(/[^0-9]/g, "")));
      const sorted = cells.every((v, i) => i === 0 || cells[i - 1] >= v);
      return { ok: th.getAttribute("aria-sort") === "descending" && cells.length > 1 && sorted, top: cells.slice(0, 3) };
    }, TABLE);
    return { top: seen.top };
  });

  await step("endpoint-of-a-thousand-charted", async () => {
    const name = await page.textContent(`${TABLE} tbody tr[data-key] button.link`);
    await page.click(`${TABLE} tbody tr[data-key] button.link`);
    const seen = await until("the endpoint's charts show its seconds", () => {
      const rps = window.surgeLive.chartData("ep-rps");
      return { ok: !!(rps && rps[1].some((v) => v > 0) && window.surgeLive.chartDrawn("ep-rps")), points: rps && rps[0].length };
    });
    return { endpoint: name, points: seen.points };
  });
} catch (e) {
  failed = true;
}
process.exit(await s.end(failed));
