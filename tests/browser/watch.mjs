// A browser watching a running `surge run --ui` to its end, as a user would leave the page open:
// for bench/ui-perturbation.sh (does a watching page perturb the load?). Prints one JSON line
// {"done": true, "seconds": [[second, p99_ms], ...]} — each second's p99 as the page got it —
// once the run has stopped (within --seconds).
//
//   node build/browser/watch.mjs --url http://127.0.0.1:8089/ --seconds 60
import { options, session } from "./steps.mjs";

const o = options(process.argv.slice(2), { url: null, shots: "build/ui-shots/watch", browser: "/usr/bin/chromium", seconds: 120, stepTimeoutMs: 30000, width: 1280, height: 800 }, { "--url": "url", "--shots": "shots", "--browser": "browser", "--seconds": "seconds" }, "watch.mjs");

const s = await session(o);
let failed = false;
let seconds = [];
try {
  const page = await s.open();
  await s.step("watched-to-the-end", async () => {
    await page.goto(o.url, { waitUntil: "load" });
    /* the run has stopped (a run with -d/-n ends by itself, and its process exits) */
    await s.until("the run ended", () => {
      const st = window.surgeLive.state();
      const gone = document.body.dataset.connection !== "live" && window.surgeLive.seconds().length > 0;
      return { ok: !!(st && st.state === "stopped") || gone, state: st && st.state };
    }, null, o.seconds * 1000);
    seconds = await page.evaluate(() => window.surgeLive.seconds().map((x) => [x, window.surgeLive.second(x).p99]));
    return { seconds: seconds.length };
  });
} catch (e) {
  failed = true;
}
process.exit(await s.end(failed, { seconds }));
