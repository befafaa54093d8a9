// What the browser checks share (ui.mjs, endpoints.mjs): Chromium launched through Playwright's
// library, steps that print one JSON line each ({"step", "ok", "ms", "shot", ...}) with a
// screenshot, and a poll of the page bounded by time and by count.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(path.join(here, "node_modules", "playwright-core", "index.mjs"));

/* argv's "--flag value" pairs over defaults, each flag named in keys by its field (a number
 * field takes a number); --url is needed. Throws the usage of script on a bad flag. */
export function options(argv, defaults, keys, script) {
  const o = Object.assign({}, defaults);
  for (let i = 0; i < argv.length; i += 2) {
    const k = keys[argv[i]];
    if (!k || i + 1 >= argv.length) throw new Error(`usage: ${script} --url URL [${Object.keys(keys).join(" ")}] (bad: ${argv[i]})`);
    o[k] = typeof o[k] === "number" ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!o.url) throw new Error(`${script}: --url of a running surge's page is needed`);
  return o;
}

export function say(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/* A browser session: s.page once open() has made it; s.step(name, fn) runs one step. */
export async function session(o) {
  fs.mkdirSync(o.shots, { recursive: true });
  const s = { page: null, browser: null, shotNo: 0, t0: Date.now(), consoleErrors: [] };
  s.browser = await chromium.launch({ executablePath: o.browser, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  s.open = async (contextOptions) => {
    const context = await s.browser.newContext(Object.assign({ viewport: { width: o.width, height: o.height } }, contextOptions || {}));
    s.page = await context.newPage();
    s.page.on("console", (m) => { if (m.type() === "error") s.consoleErrors.push(m.text()); });
    s.page.on("pageerror", (e) => s.consoleErrors.push("pageerror: " + e.message));
    return s.page;
  };
  s.shot = async (name) => {
    const file = path.join(o.shots, String(++s.shotNo).padStart(2, "0") + "-" + name + ".png");
    await s.page.screenshot({ path: file });
    return file;
  };
  /* Polls fn (run in the page) until it returns {ok: true, ...}; that value, or throws with
   * what was last seen. Bounded by time and by count. */
  s.until = async (what, fn, arg, timeoutMs) => {
    const limit = timeoutMs || o.stepTimeoutMs;
    const start = Date.now();
    let last = null;
    for (let i = 0; i < 100000 && Date.now() - start < limit; i++) {
      last = await s.page.evaluate(fn, arg);
      if (last && last.ok) return last;
      await s.page.waitForTimeout(50);
    }
    throw new Error(`${what}: not within ${limit} ms (last seen: ${JSON.stringify(last).slice(0, 600)})`);
  };
  s.step = async (name, fn) => {
    const start = Date.now();
    try {
      const extra = (await fn()) || {};
      const errors = await s.page.evaluate(() => document.documentElement.dataset.errors || null);
      if (errors) throw new Error("the page reported errors: " + errors);
      extra.shot = await s.shot(name);
      say(Object.assign({ step: name, ok: true, ms: Date.now() - start }, extra));
    } catch (e) {
      let file = null;
      try {
        file = await s.shot(name + "-failed");
      } catch (ignored) { /* the page may be gone */ }
      say({ step: name, ok: false, ms: Date.now() - start, error: String(e && e.message ? e.message : e), shot: file });
      throw e;
    }
  };
  /* Closes the browser and prints the closing line; the process's exit status. */
  s.end = async (failed, extra) => {
    await s.browser.close();
    /* the page's own resource errors (a 404 favicon) are not the page's: only script errors count */
    const scriptErrors = s.consoleErrors.filter((m) => !/Failed to load resource/.test(m));
    say(Object.assign({ done: !failed && !scriptErrors.length, console_errors: scriptErrors, seconds: (Date.now() - s.t0) / 1000 }, extra || {}));
    return failed || scriptErrors.length ? 1 : 0;
  };
  return s;
}
