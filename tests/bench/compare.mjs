// `cargo xtask bench compare`: the same load against closeloop-server and
// against the JavaScript automerge-repo reference sync server
// (tests/bench/reference-server.mjs), one after the other, with unmodified
// automerge-repo clients (`new Repo({ network: [new WebSocketClientAdapter(url)] })`,
// no storage). Prints a Markdown table (stdout); progress goes to stderr.
//
// Load, per server:
//  1. 100 idle client connections, held open until the server is stopped.
//  2. Ingest: 10 tablets × 100 records × (1 creation + 20 changes). A tablet
//     creates its 100 records, then makes 20 rounds of one change per record
//     (append to a list, or edit the Chinese description), at most one round
//     per 110 ms: automerge-repo sends a document's changes at most every
//     100 ms, so each change travels as its own sync message.
//     Completion signal (the same for both servers): every tablet has heard
//     from the server, in a sync message, heads equal to its own final heads
//     for each of its records (the server's `theirHeads` in the tablet's sync
//     state, observed through the repo's "sync-state" events). Both servers
//     send that reply only after applying the changes; ours also only after
//     committing them to SQLite. The pulls below then check the content.
//  3. Fresh pull: a new client finds every record by id (64 in flight), and
//     again with a second new client, all at once (Promise.all as an
//     unmodified app would); done when every handle is ready with the
//     tablet's final heads.
//  4. Create-then-ask: A creates a record while offline, B asks for it
//     (allowable states ready/unavailable), then A connects: ms until B's
//     handle is ready, "timeout" after 10 s.
// Server CPU is utime+stime of the server process from /proc/<pid>/stat;
// peak RSS is the larger of VmRSS sampled every 100 ms and VmHWM.
//
// usage: node tests/bench/compare.mjs [--only ours|reference] [--tablets N]
//        [--records N] [--changes N] [--idle N] [--in-flight N] [--no-unbounded]
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { cpuSeconds, killAll, log, rssSampler, sleep, startOurs, startReference } from "./servers.mjs";

// ---------------------------------------------------------------- options
const opts = {
  only: null,
  tablets: 10,
  records: 100,
  changes: 20,
  idle: 100,
  inFlight: 64,
  unbounded: true,
};
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--only") opts.only = next();
    else if (a === "--tablets") opts.tablets = Number(next());
    else if (a === "--records") opts.records = Number(next());
    else if (a === "--changes") opts.changes = Number(next());
    else if (a === "--idle") opts.idle = Number(next());
    else if (a === "--in-flight") opts.inFlight = Number(next());
    else if (a === "--no-unbounded") opts.unbounded = false;
    else fail(`unknown argument ${a}`);
  }
}

const ROUND_MS = 110;
const INGEST_TIMEOUT_MS = 300_000;
const PULL_TIMEOUT_MS = 180_000;
const ASK_TIMEOUT_MS = 10_000;
/** The whole run, both servers: a hung server or client cannot hold the build. */
const WATCHDOG_MS = 20 * 60_000;

function fail(msg) {
  console.error(`compare: ${msg}`);
  process.exit(2);
}
setTimeout(() => {
  console.error(`compare: watchdog: the run took more than ${WATCHDOG_MS / 60_000} min`);
  killAll();
  process.exit(1);
}, WATCHDOG_MS).unref();

// ------------------------------------------------------------- clients
function client(url) {
  return new Repo({ network: [new WebSocketClientAdapter(url)] });
}
async function connected(repos, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (repos.some((r) => r.peers.length === 0)) {
    if (Date.now() > deadline) {
      throw new Error(`${repos.filter((r) => r.peers.length === 0).length} clients not connected after ${timeout} ms`);
    }
    await sleep(20);
  }
}
async function shutdownAll(repos) {
  await Promise.allSettled(
    repos.map((r) => Promise.race([r.shutdown(), sleep(5_000)])),
  );
}

const DESCRIPTIONS = [
  "门店反馈：试吃区没有垃圾桶，顾客把纸杯放在货架上。",
  "电话投诉：会员积分没有到账，已经等了三天。",
  "网页留言：发票抬头开错了，需要重新开具。",
  "现场记录：冷柜温度显示异常，部分酸奶已经变软。",
];
const sortedHeads = (h) => [...h].sort().join(",");

function recordContent(tablet, n) {
  return {
    schemaVersion: 2,
    receivedAt: new Date(Date.UTC(2026, 10, 28, 8, 0, n % 60)),
    capturedBy: new A.ImmutableString(`tablet-${tablet}`),
    channel: new A.ImmutableString("store_box"),
    customer: new A.ImmutableString(`顾客 ${tablet}-${n}`),
    description: DESCRIPTIONS[(tablet + n) % DESCRIPTIONS.length],
    solution: "",
    aspects: { 服务: 1, 环境: 0 },
    attachments: [],
    history: [],
    log: [],
  };
}
function edit(doc, round) {
  if (round % 2 === 0) {
    doc.log.push({
      at: new Date(Date.UTC(2026, 10, 28, 9, round)),
      by: new A.ImmutableString("店长"),
      note: `第 ${round + 1} 次跟进：已联系顾客，等待回复。`,
    });
  } else {
    A.splice(doc, ["description"], doc.description.length, 0, `（补充 ${round + 1}）`);
  }
}

/**
 * Tablets create records and change them; resolves once the server has
 * acknowledged every record's final heads.
 */
async function ingest(server) {
  const tablets = Array.from({ length: opts.tablets }, () => client(server.wsUrl));
  await connected(tablets);
  // Per record: its handle and when the server last said it has the heads
  // the tablet has at that moment.
  const records = new Map();
  tablets.forEach((repo) => {
    repo.synchronizer.on("sync-state", ({ documentId, syncState }) => {
      const r = records.get(documentId);
      if (!r || !syncState.theirHeads) return;
      const theirs = sortedHeads(syncState.theirHeads);
      if (theirs !== r.theirHeads) {
        r.theirHeads = theirs;
        r.at = performance.now();
      }
    });
  });
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  await Promise.all(
    tablets.map(async (repo, t) => {
      const handles = [];
      for (let n = 0; n < opts.records; n++) {
        const handle = repo.create(recordContent(t, n));
        records.set(handle.documentId, { handle, theirHeads: null, at: null });
        handles.push(handle);
      }
      for (let round = 0; round < opts.changes; round++) {
        const started = performance.now();
        await sleep(0);
        for (const h of handles) h.change((d) => edit(d, round));
        const wait = ROUND_MS - (performance.now() - started);
        if (wait > 0) await sleep(wait);
      }
    }),
  );
  const madeAt = performance.now();
  log(`${server.name}: all changes made after ${((madeAt - t0) / 1000).toFixed(2)} s; waiting for acknowledgements`);
  const deadline = Date.now() + INGEST_TIMEOUT_MS;
  let done;
  for (;;) {
    const all = [...records.values()];
    const pending = all.filter((r) => r.theirHeads !== sortedHeads(A.getHeads(r.handle.doc()))).length;
    if (pending === 0) {
      done = Math.max(...all.map((r) => r.at));
      break;
    }
    if (Date.now() > deadline) {
      log(`${server.name}: ${pending} records not acknowledged after ${INGEST_TIMEOUT_MS / 1000} s`);
      done = null;
      break;
    }
    await sleep(50);
  }
  const cpu = cpuSeconds(server.pid) - cpu0;
  const expected = new Map([...records].map(([id, r]) => [id, sortedHeads(A.getHeads(r.handle.doc()))]));
  const changes = opts.tablets * opts.records * (1 + opts.changes);
  const seconds = done === null ? null : (done - t0) / 1000;
  return { tablets, expected, changes, seconds, madeSeconds: (madeAt - t0) / 1000, cpu };
}

/** A fresh client finds every record; seconds until all have the final heads. */
async function pull(server, expected, inFlight) {
  const repo = client(server.wsUrl);
  try {
    await connected([repo]);
    const ids = [...expected.keys()];
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const one = async (id) => {
      const handle = await repo.find(id);
      const want = expected.get(id);
      while (sortedHeads(A.getHeads(handle.doc())) !== want) {
        await new Promise((r) => handle.once("heads-changed", r));
      }
    };
    const work = (async () => {
      if (inFlight === Infinity) {
        await Promise.all(ids.map(one));
      } else {
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(inFlight, ids.length) }, async () => {
            while (next < ids.length) await one(ids[next++]);
          }),
        );
      }
      return (performance.now() - t0) / 1000;
    })();
    const seconds = await Promise.race([work, sleep(PULL_TIMEOUT_MS).then(() => null)]);
    return { seconds, cpu: cpuSeconds(server.pid) - cpu0 };
  } finally {
    await shutdownAll([repo]);
  }
}

/** A creates while offline, B asks, A connects: ms until B is ready. */
async function createThenAsk(server) {
  const creator = new Repo({ network: [] });
  const asker = client(server.wsUrl);
  try {
    await connected([asker]);
    const created = creator.create(recordContent(99, 0));
    const asked = await Promise.race([
      asker.find(created.documentId, { allowableStates: ["ready", "unavailable"] }),
      sleep(ASK_TIMEOUT_MS).then(() => null),
    ]);
    if (!asked) return { ms: null, note: "the ask itself did not settle" };
    const state = asked.state;
    const t0 = performance.now();
    creator.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(server.wsUrl));
    const deadline = Date.now() + ASK_TIMEOUT_MS;
    while (!(asked.state === "ready" && asked.doc()?.description)) {
      if (Date.now() > deadline) return { ms: null, note: `asked state was ${state}` };
      await sleep(2);
    }
    return { ms: performance.now() - t0, note: `asked state was ${state}` };
  } finally {
    await shutdownAll([creator, asker]);
  }
}

async function measure(start) {
  const dir = mkdtempSync(join(tmpdir(), "closeloop-compare-"));
  let server;
  try {
    server = await start(dir);
    log(`${server.name}: pid ${server.pid}, ${server.wsUrl.replace(/token=.*/, "token=…")}`);
    const rss = rssSampler(server.pid);
    const idle = Array.from({ length: opts.idle }, () => client(server.wsUrl));
    await connected(idle);
    log(`${server.name}: ${opts.idle} idle clients connected`);
    const load = await ingest(server);
    log(`${server.name}: ingest ${load.seconds === null ? "timeout" : load.seconds.toFixed(2) + " s"}, CPU ${load.cpu.toFixed(2)} s`);
    const bounded = await pull(server, load.expected, opts.inFlight);
    log(`${server.name}: pull (${opts.inFlight} in flight) ${bounded.seconds ?? "timeout"} s`);
    const unbounded = opts.unbounded ? await pull(server, load.expected, Infinity) : null;
    if (unbounded) log(`${server.name}: pull (Promise.all) ${unbounded.seconds ?? "timeout"} s`);
    const ask = await createThenAsk(server);
    log(`${server.name}: create-then-ask ${ask.ms === null ? "timeout" : ask.ms.toFixed(0) + " ms"} (${ask.note})`);
    await shutdownAll([...load.tablets, ...idle]);
    const cpuTotal = cpuSeconds(server.pid);
    const peakKb = rss.stop();
    return { load, bounded, unbounded, ask, cpuTotal, peakKb };
  } finally {
    if (server) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- table
const fmt = (v, digits) => (v === null || v === undefined ? "timeout" : v.toFixed(digits));
function ratio(ours, ref) {
  if (ours === null || ref === null || ours === undefined || ref === undefined || ref === 0) return "–";
  return `${(ours / ref).toFixed(2)}×`;
}

function table(ours, ref) {
  const rows = [];
  const row = (what, f, digits, unit = "") => {
    const o = ours ? f(ours) : undefined;
    const r = ref ? f(ref) : undefined;
    const cell = (v) => (v === undefined ? "–" : `${fmt(v, digits)}${v === null ? "" : unit}`);
    rows.push(`| ${what} | ${cell(o)} | ${cell(r)} | ${ratio(o, r)} |`);
  };
  const n = opts.tablets * opts.records;
  const changes = n * (1 + opts.changes);
  row(
    `ingest: ${opts.tablets} tablets × ${opts.records} records × (1 + ${opts.changes}) changes = ${changes} changes, changes/s until every record's final heads are acknowledged`,
    (m) => (m.load.seconds === null ? null : m.load.changes / m.load.seconds),
    0,
  );
  row("ingest: seconds until acknowledged", (m) => m.load.seconds, 2, " s");
  row("server CPU (user + system) during ingest", (m) => m.load.cpu, 2, " s");
  row(`fresh pull of ${n} records, ${opts.inFlight} finds in flight`, (m) => m.bounded.seconds, 2, " s");
  row(`server CPU during that pull`, (m) => m.bounded.cpu, 2, " s");
  if (opts.unbounded) {
    row(`fresh pull of ${n} records, all finds at once (Promise.all)`, (m) => m.unbounded.seconds, 2, " s");
    row(`server CPU during that pull`, (m) => m.unbounded.cpu, 2, " s");
  }
  row("create-then-ask: ms from creator connecting until the asker's handle is ready (10 s limit)", (m) => m.ask.ms, 0, " ms");
  row("server CPU, whole run (start-up, login, all of the above)", (m) => m.cpuTotal, 2, " s");
  row(`server peak RSS (VmRSS every 100 ms, VmHWM), ${opts.idle} idle clients connected throughout`, (m) => m.peakKb / 1024, 0, " MB");
  return [
    "| measurement | closeloop-server | JS reference | ours / reference |",
    "|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

// ----------------------------------------------------------------- main
let ours = null;
let ref = null;
if (opts.only !== "reference") {
    ours = await measure(startOurs);
}
if (opts.only !== "ours") {
  ref = await measure(startReference);
}
console.log(table(ours, ref));
console.log(
  [
    "",
    `Same Node driver and client library for both (automerge-repo 2.5.6, unmodified; one Node process holds every client and shares the ${cpus().length}-core machine with the server).`,
    `Each tablet makes one change per record every ${ROUND_MS} ms (automerge-repo sends a document at most every 100 ms), so each change is its own sync message;`,
    "ingest ends when every tablet's sync state holds, from the server, heads equal to its own final heads for each record (ours replies only after the SQLite commit, the reference after applying in memory).",
    "A pull ends when every handle is ready and has the tablet's final heads. The reference stores with NodeFS; ours with SQLite (synchronous=FULL), head-office token for every client.",
  ].join("\n"),
);
process.exit(0);
