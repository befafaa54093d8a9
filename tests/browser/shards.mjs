// A coordinator's live UI (surge run --coordinator) in a real browser: the Shards tab lists every
// shard running, with its users, requests/s and busiest thread's CPU, while the run goes on.
// tests/integration/test_ui.py starts the coordinator and its shards and runs this; by hand:
//
//   node build/browser/shards.mjs --url 'http://127.0.0.1:8089/?token=T' --shards 3
//
// Prints one JSON line per step and a closing {"done": true}; exit status 0 when all passed.
import { options, session } from "./steps.mjs";

const o = options(process.argv.slice(2), { url: null, shots: "build/ui-shots/shards", browser: "/usr/bin/chromium", shards: 3, stepTimeoutMs: 30000, width: 1280, height: 800 }, { "--url": "url", "--shots": "shots", "--browser": "browser", "--shards": "shards", "--step-timeout-ms": "stepTimeoutMs" }, "shards.mjs");

const s = await session(o);
let failed = false;
try {
  const page = await s.open();
  await s.step("shards-running", async () => {
    const u = new URL(o.url);
    u.hash = "shards";
    await page.goto(u.toString(), { waitUntil: "load" });
    const seen = await s.until(`the Shards tab lists ${o.shards} shards running`, (n) => {
      const sh = window.surgeLive.shards();
      const list = sh ? sh.shards : [];
      const rows = document.querySelectorAll("#panel-shards tbody tr").length;
      const tab = document.getElementById("tab-shards"); /* drawn with the page's first state */
      const tabShown = !!tab && !tab.hidden;
      const moving = list.filter((x) => x.state === "running" && x.rps > 0 && x.users > 0).length;
      return { ok: tabShown && rows === n && moving === n && window.surgeLive.tab() === "shards", rows, moving, tabShown };
    }, o.shards);
    const text = await page.textContent("#panel-shards");
    if (!/running/.test(text) || !/busiest thread/.test(text)) throw new Error("the Shards tab does not say each shard's state and CPU: " + text.slice(0, 300));
    return { rows: seen.rows };
  });
} catch (e) {
  failed = true;
}
process.exit(await s.end(failed));
