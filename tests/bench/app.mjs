// `cargo xtask bench app`: the field tablet holding 10,000 records, against
// a running closeloop-server that serves the PWA (xtask starts it).
//
// The records are the tablet's own: captured through the app's form, offline,
// one after another (a tablet's years of work), each timed. Then, in headless
// Chromium, a 10-inch tablet in portrait:
//  (a) offline cold start: a new page (the service worker serves the app,
//      the network is off) from navigation start until the capture form
//      can be used (its save button is there), until the list shows its
//      first rows of all the records, and until every document is in
//      memory (the list's `data-loaded`), after which records open and sync
//      runs;
//  (b) list render: a search that finds one record cleared, from the input
//      event until all the records' first rows are drawn again;
//  (c) capture → durable: the save button pressed until "saved" shows
//      (the moment it is in the page, not the next frame), which the app
//      says only once IndexedDB committed the record: the last thousand of
//      the 10,000, and more after a cold start.
// Times are taken inside the page with performance.now() and a
// MutationObserver, so Playwright's polling does not add to them. Every
// wait is bounded; a watchdog ends the run.
//
// Prints Markdown tables (stdout); progress goes to stderr.
//
// env: CLOSELOOP_BENCH_URL, CLOSELOOP_BENCH_USER, CLOSELOOP_BENCH_PASSWORD,
//      CLOSELOOP_BENCH_RECORDS (10000); optional CLOSELOOP_BENCH_RUNS (5),
//      CLOSELOOP_BENCH_CAPTURES (40).
import { chromium } from "playwright-core";
import { log, median, ms, percentile, watchdog } from "./harness.mjs";

const URL = process.env.CLOSELOOP_BENCH_URL;
const USER = process.env.CLOSELOOP_BENCH_USER;
const PASSWORD = process.env.CLOSELOOP_BENCH_PASSWORD;
const RECORDS = Number(process.env.CLOSELOOP_BENCH_RECORDS ?? 10_000);
const RUNS = Number(process.env.CLOSELOOP_BENCH_RUNS ?? 5);
const CAPTURES = Number(process.env.CLOSELOOP_BENCH_CAPTURES ?? 40);
const WAIT_MS = 60_000;
const WATCHDOG_MS = 30 * 60_000;

if (!URL || !USER || !PASSWORD) {
  console.error("usage: CLOSELOOP_BENCH_URL=… CLOSELOOP_BENCH_USER=… CLOSELOOP_BENCH_PASSWORD=… node tests/bench/app.mjs");
  process.exit(2);
}

let browser = null;
watchdog(WATCHDOG_MS, async () => browser?.close());

// Installed before the app starts: notes when each milestone first shows.
function milestones(records) {
  window.__marks = {};
  const checks = {
    form: () => document.querySelector('[data-testid="save"]:not([disabled])'),
    rows: () =>
      document.querySelector('[data-testid="record"]') &&
      document.querySelector('[data-testid="record-count"]')?.textContent === String(records),
    loaded: () => document.querySelector('[data-testid="records-card"][data-loaded="true"]'),
  };
  const look = () => {
    for (const [name, seen] of Object.entries(checks)) {
      if (window.__marks[name] === undefined && seen()) window.__marks[name] = performance.now();
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

/** Resolves (in the page) once `check()` holds, at the next animation frame. */
const WAIT_IN_PAGE = `
  window.__until = (check, limit) => new Promise((ok, fail) => {
    const started = performance.now();
    const look = () => {
      if (check()) return requestAnimationFrame(() => ok(performance.now()));
      if (performance.now() - started > limit) return fail(new Error("not shown in time"));
      setTimeout(look, 1);
    };
    look();
  });
  // Resolves with the moment the page first shows \`check()\` true (seen by
  // a MutationObserver, so neither polling nor the next frame adds to it).
  window.__shown = (check, limit) => new Promise((ok, fail) => {
    if (check()) return ok(performance.now());
    const seen = new MutationObserver(() => {
      if (check()) { seen.disconnect(); clearTimeout(timer); ok(performance.now()); }
    });
    seen.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    const timer = setTimeout(() => { seen.disconnect(); fail(new Error("not shown in time")); }, limit);
  });
  // Presses save once the form is ready (the last "saved" cleared by the
  // typing) and times it until the page says this record is saved: the
  // app shows "saved" only after IndexedDB committed it, and the list then
  // counts one more.
  window.__capture = async () => {
    const count = () => Number(document.querySelector('[data-testid="record-count"]').textContent);
    await window.__until(() => !document.querySelector('[data-testid="form-message"].ok') &&
      !document.querySelector('[data-testid="save"]').disabled, 10_000);
    const before = count();
    const started = performance.now();
    document.querySelector('[data-testid="save"]').click();
    const done = await window.__shown(() => document.querySelector('[data-testid="form-message"].ok') && count() === before + 1, 10_000);
    return done - started;
  };`;

async function main() {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width: 800, height: 1280 } });
  await context.addInitScript(milestones, RECORDS);
  await context.addInitScript(WAIT_IN_PAGE);

  // (0) Signed in once online, then offline for good: the tablet fills up.
  let page = await context.newPage();
  await page.goto(URL + "/login");
  await page.fill('[data-testid="username"]', USER);
  await page.fill('[data-testid="password"]', PASSWORD);
  await page.click('[data-testid="sign-in"]');
  await page.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: WAIT_MS });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: WAIT_MS });
  // A page opened offline has no socket to the relay (an open one would stay).
  await context.setOffline(true);
  await page.close();
  page = await context.newPage();
  await page.goto(URL + "/", { timeout: WAIT_MS });
  await page.waitForSelector('[data-testid="sync-status"][data-status="offline"]', { timeout: WAIT_MS });
  const filling = [];
  const fillStarted = Date.now();
  for (let from = 0; from < RECORDS; from += 500) {
    const took = await page.evaluate(
      async ([from, to]) => {
        const set = (sel, value) => {
          const el = document.querySelector(sel);
          el.value = value;
          el.dispatchEvent(new Event("input", { bubbles: true }));
        };
        const out = [];
        for (let i = from; i < to; i++) {
          set('[data-testid="nickname"]', `会员 ${i}`);
          set('[data-testid="description"]', `门店排队时间过长，第 ${i} 次反映；收银台只开了一个。`);
          out.push(await window.__capture());
        }
        return out;
      },
      [from, Math.min(RECORDS, from + 500)],
    );
    filling.push(...took);
    log(`captured ${filling.length}/${RECORDS} (last 500: p50 ${ms(median(took))} ms)`);
  }
  const fillMs = Date.now() - fillStarted;
  const lastThousand = filling.slice(-1000);
  const stored = await page.evaluate(async () => (await navigator.storage.estimate()).usage);

  // (a) Offline cold starts.
  const cold = { form: [], rows: [], loaded: [] };
  for (let run = 0; run < RUNS; run++) {
    await page.close();
    page = await context.newPage();
    await page.goto(URL + "/", { timeout: WAIT_MS });
    await page
      .waitForFunction(() => window.__marks.loaded !== undefined && window.__marks.rows !== undefined, null, {
        timeout: WAIT_MS,
        polling: 50,
      })
      .catch(async (e) => {
        const seen = await page.evaluate(() => ({
          marks: window.__marks,
          count: document.querySelector('[data-testid="record-count"]')?.textContent,
          rows: document.querySelectorAll('[data-testid="record"]').length,
        }));
        throw new Error(`cold start ${run + 1} not done: ${JSON.stringify(seen)} (${e.message})`);
      });
    const marks = await page.evaluate(() => window.__marks);
    for (const k of Object.keys(cold)) cold[k].push(marks[k]);
    log(`cold start ${run + 1}: form ${ms(marks.form)} ms, rows ${ms(marks.rows)} ms, documents ${ms(marks.loaded)} ms`);
  }

  // (b) List render: one record found, then the search cleared.
  const render = [];
  const someone = await page.textContent('[data-testid="record-nickname"]');
  for (let run = 0; run < RUNS; run++) {
    await page.fill('[data-testid="records-search"]', `${someone}`);
    await page.waitForFunction((n) => document.querySelector('[data-testid="records-shown"]')?.dataset.count !== String(n), RECORDS);
    const took = await page.evaluate(async (n) => {
      const input = document.querySelector('[data-testid="records-search"]');
      input.value = "";
      const started = performance.now();
      input.dispatchEvent(new Event("input", { bubbles: true }));
      const done = await window.__until(
        () => document.querySelector('[data-testid="records-shown"]')?.dataset.count === String(n) &&
          document.querySelectorAll('[data-testid="record"]').length > 0,
        10_000,
      );
      return done - started;
    }, RECORDS);
    render.push(took);
  }
  const drawn = await page.locator('[data-testid="record"]').count();
  log(`list render: ${render.map(ms).join(", ")} ms (${drawn} rows drawn)`);

  // (c) Capture → durable in IndexedDB.
  const capture = [];
  for (let i = 0; i < CAPTURES; i++) {
    await page.fill('[data-testid="nickname"]', `会员 ${i}`);
    await page.fill('[data-testid="description"]', `门店排队时间过长，第 ${i} 次反映`);
    const took = await page.evaluate(() => window.__capture());
    capture.push(took);
  }
  const count = await page.textContent('[data-testid="record-count"]');
  if (count !== String(RECORDS + CAPTURES)) throw new Error(`the list counts ${count} records after the captures`);
  log(`capture: p50 ${ms(median(capture))} ms, p95 ${ms(percentile(capture, 95))} ms`);
  await browser.close();

  console.log("| measure | median | runs | aim |");
  console.log("|---|---:|---|---:|");
  console.log(`| filling the tablet: ${RECORDS} captures through the form, offline | ${(fillMs / 1000).toFixed(0)} s | 1 | — |`);
  console.log(`| offline cold start → capture form usable | ${ms(median(cold.form))} ms | ${cold.form.map(ms).join(", ")} | ≤ 1000 ms |`);
  console.log(`| offline cold start → list shows all ${RECORDS} records | ${ms(median(cold.rows))} ms | ${cold.rows.map(ms).join(", ")} | — |`);
  console.log(`| offline cold start → every document in memory (records open, sync starts) | ${ms(median(cold.loaded))} ms | ${cold.loaded.map(ms).join(", ")} | — |`);
  console.log(`| list render: search cleared → ${RECORDS} records listed (${drawn} rows drawn) | ${ms(median(render))} ms | ${render.map(ms).join(", ")} | ≤ 200 ms |`);
  console.log(`| capture → durable in IndexedDB, p50, records ${RECORDS - 1000}–${RECORDS} | ${ms(median(lastThousand))} ms | 1000 captures | ≤ 30 ms |`);
  console.log(`| capture → durable in IndexedDB, p95, records ${RECORDS - 1000}–${RECORDS} | ${ms(percentile(lastThousand, 95))} ms | 1000 captures | ≤ 30 ms |`);
  console.log(`| capture → durable in IndexedDB, p50, after a cold start with ${RECORDS} | ${ms(median(capture))} ms | ${CAPTURES} captures | ≤ 30 ms |`);
  console.log(`| capture → durable in IndexedDB, p95, after a cold start with ${RECORDS} | ${ms(percentile(capture, 95))} ms | ${CAPTURES} captures | ≤ 30 ms |`);
  console.log("");
  console.log(`Origin storage used with ${RECORDS} records: ${(stored / 1024 / 1024).toFixed(1)} MiB.`);
}

main().catch(async (e) => {
  console.error(e);
  await browser?.close().catch(() => {});
  process.exit(1);
});
