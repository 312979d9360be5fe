// `cargo xtask bench office`: head office's inbox on a large database,
// against a running closeloop-server that serves the PWA (xtask seeds
// 100,000 records with `closeloop-server seed` and starts it).
//
// Measured, each as the median of several runs:
//  - API: `GET /api/records?per_page=50` with a few filters, plain fetch
//    from Node with a bearer token (10 timed calls after one warm-up);
//  - browser (headless Chromium, signed in through /login):
//    (a) first inbox page: `page.goto("/office")` until the first page of
//        rows is shown (navigation start to the animation frame after
//        `#inbox` shows its first completed load with rows);
//    (b) filter change: a new value in `#f-status` until the new rows are
//        shown (the change event to the frame after the next load);
//    (c) opening a record: a click on a row's link until the detail shows
//        the document that arrived over sync (`[data-record-loaded]`);
//    (d) memory: `performance.memory.usedJSHeapSize` after `gc()` (and the
//        wasm memory's size) on pages 1, 10, 25 and 50, paging with
//        `#next-page`; it should stay flat. Each next page is timed too,
//        with its list request's share (resource timing).
// Times are taken inside the page with performance.now(), from a
// MutationObserver installed before the app starts, so Playwright's polling
// does not add to them. Every wait is bounded; a watchdog ends the run.
//
// Prints Markdown tables (stdout); progress goes to stderr.
//
// env: CLOSELOOP_BENCH_URL (http://127.0.0.1:PORT), CLOSELOOP_BENCH_USER,
//      CLOSELOOP_BENCH_PASSWORD; optional CLOSELOOP_BENCH_RUNS (5),
//      CLOSELOOP_BENCH_WORD (发票), CLOSELOOP_BENCH_RARE_WORD (漏水),
//      CLOSELOOP_BENCH_PAGES (1,10,25,50), CLOSELOOP_BENCH_ONLY (api|browser).
import { chromium } from "playwright-core";
import { log, median, ms, watchdog } from "./harness.mjs";

const URL = process.env.CLOSELOOP_BENCH_URL;
const USER = process.env.CLOSELOOP_BENCH_USER ?? "office";
const PASSWORD = process.env.CLOSELOOP_BENCH_PASSWORD;
const RUNS = Number(process.env.CLOSELOOP_BENCH_RUNS ?? 5);
const WORD = process.env.CLOSELOOP_BENCH_WORD ?? "发票";
const RARE_WORD = process.env.CLOSELOOP_BENCH_RARE_WORD ?? "漏水";
const API_RUNS = 10;
/** One wait in the browser (a load, a record opening, a sign-in). */
const WAIT_MS = 30_000;
/** The whole run: a hung server or browser cannot hold the build. */
const WATCHDOG_MS = 15 * 60_000;
/** Pages after which memory is read (the last is how far the run pages). */
const MEMORY_PAGES = (process.env.CLOSELOOP_BENCH_PAGES ?? "1,10,25,50").split(",").map(Number);

if (!URL || !PASSWORD) {
  console.error("usage: CLOSELOOP_BENCH_URL=… CLOSELOOP_BENCH_PASSWORD=… node tests/bench/office.mjs");
  process.exit(2);
}

let browser = null;
watchdog(WATCHDOG_MS, async () => browser?.close());

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

// ------------------------------------------------------------------- API
async function login() {
  const r = await fetch(`${URL}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: USER, password: PASSWORD }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  if (!r.ok) throw new Error(`login as ${USER}: HTTP ${r.status}`);
  return (await r.json()).token;
}

async function timedGet(path, token) {
  const started = performance.now();
  const r = await fetch(URL + path, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const body = await r.text();
  const took = performance.now() - started;
  if (!r.ok) throw new Error(`GET ${path}: HTTP ${r.status} ${body.slice(0, 200)}`);
  return { took, page: JSON.parse(body) };
}

async function apiTimings() {
  const token = await login();
  const enc = encodeURIComponent;
  const queries = [
    ["newest first (the default)", "/api/records?per_page=50"],
    ["status=assigned", "/api/records?per_page=50&status=assigned"],
    [`q=${WORD} (text search)`, `/api/records?per_page=50&q=${enc(WORD)}`],
    [`q=${RARE_WORD} (rare word)`, `/api/records?per_page=50&q=${enc(RARE_WORD)}`],
    ["sort=due", "/api/records?per_page=50&sort=due"],
    ["page=1000", "/api/records?per_page=50&page=1000"],
    ["view mine: owner, open, sort=due", `/api/records?per_page=50&owner=${enc(USER)}&open=true&sort=due`],
    ["view unassigned: unassigned, open, sort=due", "/api/records?per_page=50&unassigned=true&open=true&sort=due"],
    ["view overdue: due=overdue, open, sort=due", "/api/records?per_page=50&due=overdue&open=true&sort=due"],
    ["view complaints: nature, open, sort=due", "/api/records?per_page=50&nature=complaint&open=true&sort=due"],
    ["due=near", "/api/records?per_page=50&due=near"],
    ["channel=phone&priority=P1", "/api/records?per_page=50&channel=phone&priority=P1"],
  ];
  const rows = [];
  for (const [name, path] of queries) {
    const { page } = await timedGet(path, token); // warm-up
    const times = [];
    for (let i = 0; i < API_RUNS; i++) times.push((await timedGet(path, token)).took);
    rows.push({ name, path, total: page.total, shown: page.records.length, times });
    log(`API ${name}: median ${ms(median(times))} ms (${page.total} matching)`);
  }
  return rows;
}

// --------------------------------------------------------------- browser
/**
 * Runs in every document before the app: records, with performance.now(),
 * each completed inbox load (`data-loads` changed while not busy) and each
 * record detail that appears, at the animation frame that shows it.
 */
function installMarks() {
  const events = [];
  window.__bench = { events };
  let inbox = null;
  let loads = null;
  let detail = null;
  // Pushed at the next animation frame (the one that shows the change),
  // with what the page shows then.
  const frame = (event, shows) =>
    requestAnimationFrame(() => events.push({ ...event, ...shows(), frame: performance.now() }));
  // The wasm module's memory, for its size.
  addEventListener("TrunkApplicationStarted", (e) => {
    window.__bench.wasm = e.detail?.wasm;
  });
  const check = () => {
    const el = document.querySelector("#inbox");
    if (el !== inbox) {
      inbox = el;
      loads = null;
    }
    if (el && el.getAttribute("aria-busy") === "false" && el.dataset.loads !== loads) {
      loads = el.dataset.loads;
      frame({ kind: "inbox", loads: Number(loads), dom: performance.now() }, () => {
        const rows = el.querySelectorAll("tr[data-record-id]");
        return {
          rows: rows.length,
          first: rows[0]?.dataset.recordId ?? null,
          info: document.querySelector("#page-info")?.textContent ?? "",
        };
      });
    }
    const d = document.querySelector("[data-record-loaded]");
    if (d !== detail) {
      detail = d;
      if (d) frame({ kind: "record", path: location.pathname, dom: performance.now() }, () => ({}));
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["aria-busy", "data-loads", "data-record-loaded"],
  });
}

/** The events recorded in the page so far ([] while a navigation replaces it). */
const events = (page) => page.evaluate(() => window.__bench?.events ?? []).catch(() => []);

/** Waits for an event after the first `after` that `match` accepts. */
async function nextEvent(page, after, match, what) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const found = (await events(page)).slice(after).find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS / 1000} s`);
    await page.waitForTimeout(20);
  }
}

const shownInbox = (e) => e.kind === "inbox" && e.rows > 0;

async function signIn(page) {
  await page.goto(`${URL}/login`, { timeout: WAIT_MS });
  await page.fill('[data-testid="username"]', USER, { timeout: WAIT_MS });
  await page.fill('[data-testid="password"]', PASSWORD);
  await page.click('[data-testid="sign-in"]');
  await page.waitForSelector(`[data-testid="signed-in-as"]:has-text("${USER}")`, { timeout: WAIT_MS });
}

/** (a) navigation start → first page of rows shown, per run. */
async function firstPage(page) {
  const times = [];
  for (let i = 0; i < RUNS + 1; i++) {
    await page.goto("about:blank");
    await page.goto(`${URL}/office`, { waitUntil: "commit", timeout: WAIT_MS });
    const shown = await nextEvent(page, 0, shownInbox, "first inbox page");
    // The first run compiles and caches the app; it is reported apart.
    times.push(shown.frame);
    log(`first inbox page ${i === 0 ? "(first visit) " : ""}${ms(shown.frame)} ms, ${shown.rows} rows`);
  }
  return { first: times[0], times: times.slice(1) };
}

/** Selects `value` in `#f-status` from inside the page; when it happened. */
const chooseStatus = (page, value) =>
  page.evaluate((v) => {
    const select = document.querySelector("#f-status");
    select.value = v;
    const at = performance.now();
    select.dispatchEvent(new Event("change", { bubbles: true }));
    return at;
  }, value);

/** (b) a new `#f-status` value → the new rows shown, per run. */
async function filterChange(page) {
  await page.goto(`${URL}/office`, { timeout: WAIT_MS });
  await nextEvent(page, 0, shownInbox, "inbox");
  const values = ["assigned", "in_progress", "closed", "registered", "resolved", "replied", ""];
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const value = values[i % values.length];
    const seen = (await events(page)).length;
    const at = await chooseStatus(page, value);
    const shown = await nextEvent(page, seen, (e) => e.kind === "inbox", `rows for status=${value}`);
    times.push(shown.frame - at);
    log(`filter status=${value || "(any)"}: ${ms(shown.frame - at)} ms, ${shown.rows} rows (${shown.info})`);
  }
  await chooseStatus(page, "");
  return times;
}

/**
 * (c) a click on row i's link → the record's document shown, per run; back
 * to the inbox in the app between runs (as a person would, the sync socket
 * stays open), so each run opens another record.
 */
async function openRecord(page) {
  await page.goto(`${URL}/office`, { timeout: WAIT_MS });
  await nextEvent(page, 0, shownInbox, "inbox");
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    if (i > 0) {
      const before = (await events(page)).length;
      await page.evaluate(() => history.back());
      await nextEvent(page, before, shownInbox, "inbox after going back");
    }
    const seen = (await events(page)).length;
    const opened = await page.evaluate((n) => {
      const links = document.querySelectorAll("#inbox tr[data-record-id] a.open-record");
      const link = links[n % links.length];
      const at = performance.now();
      link.click();
      return { at, href: new URL(link.href).pathname };
    }, i);
    const shown = await nextEvent(
      page,
      seen,
      (e) => e.kind === "record" && e.path === opened.href,
      `record ${opened.href}`,
    );
    times.push(shown.frame - opened.at);
    log(`open ${opened.href}: ${ms(shown.frame - opened.at)} ms`);
  }
  return times;
}

/** Heap after a full collection, and the wasm memory's size. */
const memory = (page) =>
  page.evaluate(async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      heap: performance.memory.usedJSHeapSize,
      wasm: window.__bench.wasm?.memory?.buffer?.byteLength ?? null,
    };
  });

/** A full collection without reading anything (see `paging`). */
const collect = (page) =>
  page.evaluate(async () => {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  });

/** (d) memory on pages 1, 10, 25, 50; every next page timed. With
 *  `collectEach`, a collection after every turn as well: wasm memory never
 *  shrinks, so without one its size also holds each page's garbage that
 *  waits for the JS collector (event closures are freed when their JS
 *  wrappers are), while with one it shows what the pages keep. */
async function paging(page, collectEach = false) {
  await page.goto(`${URL}/office`, { timeout: WAIT_MS });
  await nextEvent(page, 0, shownInbox, "inbox");
  const samples = [{ page: 1, ...(await memory(page)) }];
  const turns = [];
  // Of each turn, the list request's own time (resource timing).
  const requests = [];
  let previous = (await events(page)).filter((e) => e.kind === "inbox").at(-1).first;
  for (let n = 2; n <= MEMORY_PAGES.at(-1); n++) {
    const seen = (await events(page)).length;
    const at = await page.evaluate(() => {
      performance.clearResourceTimings();
      const at = performance.now();
      document.querySelector("#next-page").click();
      return at;
    });
    const shown = await nextEvent(page, seen, shownInbox, `page ${n}`);
    if (shown.first === previous) throw new Error(`page ${n} shows the rows of page ${n - 1}`);
    previous = shown.first;
    turns.push(shown.frame - at);
    const request = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((e) => e.name.includes("/api/records?"))
        .map((e) => e.responseEnd - e.startTime)
        .at(-1),
    );
    if (request !== undefined) requests.push(request);
    if (collectEach) await collect(page);
    if (MEMORY_PAGES.includes(n)) {
      samples.push({ page: n, ...(await memory(page)) });
      log(`page ${n} (${shown.info}): heap ${mb(samples.at(-1).heap)} MB`);
    }
  }
  return { samples, turns, requests };
}

async function browserTimings() {
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    timeout: WAIT_MS,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--enable-precise-memory-info",
      "--js-flags=--expose-gc",
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  await context.addInitScript(installMarks);
  const page = await context.newPage();
  await signIn(page);
  log("signed in");
  const first = await firstPage(page);
  const filter = await filterChange(page);
  const open = await openRecord(page);
  const mem = await paging(page);
  // A fresh tab: a new wasm instance, its memory not sized by the first pass.
  const kept = await paging(await context.newPage(), true);
  await browser.close();
  browser = null;
  return { first, filter, open, mem, kept };
}

// ------------------------------------------------------------------ main
const only = process.env.CLOSELOOP_BENCH_ONLY;
const api = only === "browser" ? [] : await apiTimings();
const b = only === "api" ? null : await browserTimings();
clearTimeout(watchdog);

const range = (xs) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;
const lines = [];
const notes = [];
if (b) {
  const row = (what, xs) => `| ${what} | ${ms(median(xs))} | ${range(xs)} | ${xs.length} |`;
  lines.push(
    "| browser (headless Chromium) | median ms | range ms | runs |",
    "|---|---:|---:|---:|",
    row("(a) first inbox page: navigate to `/office` until 50 rows are shown", b.first.times),
    `| (a′) the same, the first time after signing in | ${ms(b.first.first)} | | 1 |`,
    row("(b) filter change: `#f-status` until the new rows are shown", b.filter),
    row("(c) opening a record: click until its document is shown (over sync)", b.open),
    row("next page: `#next-page` until its rows are shown", b.mem.turns),
    ...(b.mem.requests.length ? [row("… of which the `GET /api/records` request (resource timing)", b.mem.requests)] : []),
    "",
    "| (d) pages viewed | JS heap used after gc() | wasm memory | … collecting after every page: JS heap | wasm memory |",
    "|---:|---:|---:|---:|---:|",
    ...b.mem.samples.map((s, i) => {
      const k = b.kept.samples[i];
      const wasm = (x) => (x?.wasm == null ? "?" : `${mb(x.wasm)} MB`);
      return `| ${s.page} | ${mb(s.heap)} MB | ${wasm(s)} | ${k ? `${mb(k.heap)} MB` : "?"} | ${wasm(k)} |`;
    }),
    "",
  );
  const change = (key) => {
    const [first, last] = [b.mem.samples[0][key], b.mem.samples.at(-1)[key]];
    return first ? `${last >= first ? "+" : ""}${(((last - first) / first) * 100).toFixed(0)} %` : "?";
  };
  notes.push(`From page 1 to page ${b.mem.samples.at(-1).page}: JS heap ${change("heap")}, wasm memory ${change("wasm")}.`);
  const kept = b.kept.samples;
  const grown = kept.at(-1).wasm - kept[1].wasm;
  notes.push(
    `Collecting after every page, wasm memory from page ${kept[1].page} to ${kept.at(-1).page}: ${grown >= 0 ? "+" : ""}${(grown / 1024).toFixed(0)} KB.`,
  );
}
if (api.length) {
  lines.push(
    "| `GET /api/records?per_page=50&…` (Node fetch) | matching | median ms | range ms |",
    "|---|---:|---:|---:|",
    ...api.map((r) => `| ${r.name} | ${r.total} | ${ms(median(r.times))} | ${range(r.times)} |`),
    "",
  );
  const slow = api.filter((r) => median(r.times) > 100).map((r) => r.name);
  notes.push(slow.length ? `API queries over 100 ms (median): ${slow.join("; ")}.` : "Every API query under 100 ms (median).");
}
process.stdout.write(`${lines.join("\n")}\n${notes.join(" ")}\n`);
