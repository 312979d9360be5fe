// `cargo xtask bench compare`: the same load against closeloop-server and
// against the JavaScript automerge-repo reference sync server
// (tests/bench/reference-server.mjs), one after the other, with unmodified
// automerge-repo clients (`new Repo({ network: [new WebSocketClientAdapter(url)] })`,
// no storage). Prints a Markdown table and notes (stdout); progress goes to
// stderr.
//
// Load, per server:
//  1. 100 idle client connections, held open until the server is stopped.
//  2. Ingest: 10 tablets × 100 records × (1 creation + 20 changes). A tablet
//     creates its 100 records, then makes 20 rounds of one change per record
//     (append an entry to the log list, or append to the Chinese
//     description), a round at most every 110 ms: automerge-repo sends a
//     document's changes at most every 100 ms, so each change travels as its
//     own sync message. The tablets stay connected until the server stops.
//     Completion signal, the same for both servers: every tablet has heard
//     from the server, in a sync message, heads equal to its own final heads
//     for each of its records (the server's `theirHeads` in the tablet's sync
//     state, seen through the repo's "sync-state" events). Both servers send
//     that only after applying the changes; ours only after committing them
//     to SQLite. The pulls below then check the content.
//  3. Fresh pull: a new client finds every record by id, 64 finds in flight;
//     then another new client with all finds at once (Promise.all, as an
//     unmodified app would write it). Done when every handle is ready with
//     the tablet's final heads; automerge-repo itself gives up on a document
//     after 60 s, counted as unavailable.
//     A third new client pulls again (64 in flight) after the tablets have
//     disconnected.
//  4. Create-then-ask: A creates a record while offline, B asks for it
//     (allowable states ready/unavailable), then A connects: ms until B's
//     handle is ready, "timeout" after 10 s.
// Each client role (idle connections, tablets, each puller, the ask pair)
// runs in its own Node process (this script with --role), so one role's
// heap and event loop do not slow another's. Server CPU is utime+stime of
// the server process from /proc/<pid>/stat; peak RSS is the larger of VmRSS
// sampled every 100 ms and VmHWM.
//
// usage: node tests/bench/compare.mjs [--only ours|reference] [--tablets N]
//        [--records N] [--changes N] [--idle N] [--in-flight N] [--no-unbounded]
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { bareClient, sortedHeads } from "./bare-client.mjs";
import { USER, cpuSeconds, forkTracked, log, rssSampler, sleep, startOurs, startReference } from "./servers.mjs";

const ROUND_MS = 110;
const INGEST_TIMEOUT_MS = 300_000;
const PULL_TIMEOUT_MS = 180_000;
const ASK_TIMEOUT_MS = 10_000;
/** The whole run, both servers: a hung server or client cannot hold the build. */
const WATCHDOG_MS = 25 * 60_000;

// ---------------------------------------------------------------- options
const opts = {
  role: null,
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
    const count = () => {
      const n = Number(next());
      if (!Number.isInteger(n) || n < 0 || n > 100_000) fail(`${a}: not a reasonable count`);
      return n;
    };
    if (a === "--role") opts.role = next();
    else if (a === "--only") opts.only = next();
    else if (a === "--tablets") opts.tablets = count();
    else if (a === "--records") opts.records = count();
    else if (a === "--changes") opts.changes = count();
    else if (a === "--idle") opts.idle = count();
    else if (a === "--in-flight") opts.inFlight = Math.max(1, count());
    else if (a === "--no-unbounded") opts.unbounded = false;
    else fail(`unknown argument ${a}`);
  }
}
function fail(msg) {
  console.error(`compare: ${msg}`);
  process.exit(2);
}

// ------------------------------------------------------- client helpers
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
  await Promise.allSettled(repos.map((r) => Promise.race([r.shutdown(), sleep(5_000)])));
}
const cpuOf = (c) => (c.user + c.system) / 1e6;

/**
 * A pull's seconds: `one(id)` for every id, `inFlight` at a time (all at
 * once when null); null if it has not ended after PULL_TIMEOUT_MS.
 */
async function timed(ids, inFlight, one) {
  const t0 = performance.now();
  const work = (async () => {
    if (inFlight === null) {
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
  return Promise.race([work, sleep(PULL_TIMEOUT_MS).then(() => null)]);
}

const DESCRIPTIONS = [
  "门店反馈：试吃区没有垃圾桶，顾客把纸杯放在货架上。",
  "电话投诉：会员积分没有到账，已经等了三天。",
  "网页留言：发票抬头开错了，需要重新开具。",
  "现场记录：冷柜温度显示异常，部分酸奶已经变软。",
];

function recordContent(tablet, n) {
  return {
    schemaVersion: 2,
    receivedAt: new Date(Date.UTC(2026, 10, 28, 8, 0, n % 60)),
    // Written as the user of the one head-office token every client of
    // ours uses (the reference does not care who writes).
    capturedBy: new A.ImmutableString(USER),
    channel: new A.ImmutableString("store_box"),
    customer: new A.ImmutableString(`顾客 ${tablet}-${n}`),
    description: DESCRIPTIONS[(tablet + n) % DESCRIPTIONS.length],
    solution: "",
    aspects: { "service.attitude": true },
    attachments: [],
    history: [],
    log: [],
  };
}
function edit(doc, round) {
  if (round % 2 === 0) {
    doc.log.push({
      at: new Date(Date.UTC(2026, 10, 28, 9, round)),
      by: new A.ImmutableString(USER),
      note: new A.ImmutableString(`第 ${round + 1} 次跟进：已联系顾客，等待回复。`),
    });
  } else {
    A.splice(doc, ["description"], doc.description.length, 0, `（补充 ${round + 1}）`);
  }
}

// ------------------------------------------- roles (child processes)
// Each receives {url, ...} first, talks to the parent with {type, ...}
// messages, and exits when told to stop or when the parent goes away.
function message(type) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.type === type) {
        process.off("message", on);
        resolve(m);
      }
    };
    process.on("message", on);
  });
}

const roles = {
  /** Connections that only stay open. */
  async idle({ url, count }) {
    const repos = Array.from({ length: count }, () => client(url));
    await connected(repos);
    process.send({ type: "ready" });
    await message("stop");
    await shutdownAll(repos);
  },

  /** The ingest: see the top of the file. */
  async tablets({ url, tablets, records: perTablet, changes }) {
    const repos = Array.from({ length: tablets }, () => client(url));
    await connected(repos);
    const records = new Map();
    repos.forEach((repo) => {
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
    process.send({ type: "ready" });
    await message("go");
    const t0 = performance.now();
    await Promise.all(
      repos.map(async (repo, t) => {
        const handles = [];
        for (let n = 0; n < perTablet; n++) {
          const handle = repo.create(recordContent(t, n));
          records.set(handle.documentId, { handle, theirHeads: null, at: null });
          handles.push(handle);
        }
        for (let round = 0; round < changes; round++) {
          const started = performance.now();
          await sleep(0);
          for (const h of handles) h.change((d) => edit(d, round));
          const wait = ROUND_MS - (performance.now() - started);
          if (wait > 0) await sleep(wait);
        }
      }),
    );
    const madeSeconds = (performance.now() - t0) / 1000;
    const final = new Map([...records].map(([id, r]) => [id, sortedHeads(A.getHeads(r.handle.doc()))]));
    const deadline = Date.now() + INGEST_TIMEOUT_MS;
    let seconds = null;
    let pending;
    for (;;) {
      const all = [...records];
      pending = all.filter(([id, r]) => r.theirHeads !== final.get(id)).length;
      if (pending === 0) {
        seconds = (Math.max(...all.map(([, r]) => r.at)) - t0) / 1000;
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(50);
    }
    process.send({ type: "acked", seconds, madeSeconds, pending, expected: [...final] });
    await message("stop");
    await shutdownAll(repos);
  },

  /** A fresh client finds every record; seconds until all have the final heads. */
  async pull({ url, expected: pairs, inFlight }) {
    const expected = new Map(pairs);
    const repo = client(url);
    await connected([repo]);
    process.send({ type: "ready" });
    await message("go");
    const ids = [...expected.keys()];
    const client0 = process.cpuUsage();
    let failed = 0;
    const one = async (id) => {
      try {
        const handle = await repo.find(id);
        const want = expected.get(id);
        while (sortedHeads(A.getHeads(handle.doc())) !== want) {
          await new Promise((r) => handle.once("heads-changed", r));
        }
      } catch {
        // automerge-repo gives up on a document after 60 s ("unavailable")
        failed += 1;
      }
    };
    const seconds = await timed(ids, inFlight, one);
    process.send({ type: "done", seconds, failed, total: ids.length, clientCpu: cpuOf(process.cpuUsage(client0)) });
    await shutdownAll([repo]);
  },

  /**
   * The same pull by a bare protocol client: one WebSocket, `join`, then a
   * `request` carrying the sync message of an empty document per record,
   * `inFlight` at a time, each answer applied with Automerge's own
   * `receiveSyncMessage` (no repo, no handles, no events). A record is done
   * when its document has the tablet's final heads. What is left of the
   * client's work is decoding and loading the documents, the same for both
   * servers, so the time shows the server's side of a pull.
   */
  async bare({ url, expected: pairs, inFlight }) {
    const expected = new Map(pairs);
    const bare = await bareClient(url);
    process.send({ type: "ready" });
    await message("go");
    const ids = [...expected.keys()];
    const client0 = process.cpuUsage();
    let failed = 0;
    const one = async (id) => {
      if (!(await bare.pull(id, expected.get(id)))) failed += 1;
    };
    const seconds = await timed(ids, inFlight, one);
    process.send({ type: "done", seconds, failed, total: ids.length, clientCpu: cpuOf(process.cpuUsage(client0)) });
    bare.close();
  },

  /** A creates while offline, B asks, A connects: ms until B is ready. */
  async ask({ url }) {
    const creator = new Repo({ network: [] });
    const asker = client(url);
    await connected([asker]);
    const created = creator.create(recordContent(99, 0));
    const asked = await Promise.race([
      asker.find(created.documentId, { allowableStates: ["ready", "unavailable"] }).catch(() => null),
      sleep(ASK_TIMEOUT_MS).then(() => null),
    ]);
    let result = { type: "done", ms: null, state: "the ask did not settle" };
    if (asked) {
      const state = asked.state;
      const t0 = performance.now();
      creator.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url));
      const deadline = Date.now() + ASK_TIMEOUT_MS;
      for (;;) {
        if (asked.state === "ready" && asked.doc()?.description) {
          result = { type: "done", ms: performance.now() - t0, state };
          break;
        }
        if (Date.now() > deadline) {
          result = { type: "done", ms: null, state };
          break;
        }
        await sleep(2);
      }
    }
    process.send(result);
    await shutdownAll([creator, asker]);
  },
};

if (opts.role) {
  const run = roles[opts.role];
  if (!run) fail(`unknown role ${opts.role}`);
  process.on("disconnect", () => process.exit(1)); // the parent went away
  const init = message("init");
  process.send({ type: "hello" }); // listening: the parent may send init
  await run(await init);
  process.exit(0);
}

// ------------------------------------------------ the parent: per server
setTimeout(() => {
  console.error(`compare: watchdog: the run took more than ${WATCHDOG_MS / 60_000} min`);
  process.exit(1); // the exit handler kills servers and roles
}, WATCHDOG_MS).unref();

/** A role in its own Node process. */
function startRole(name, init) {
  const child = forkTracked(fileURLToPath(import.meta.url), ["--role", name], {
    // The roles' stdout goes to our stderr: stdout carries only the table.
    stdio: ["ignore", 2, 2, "ipc"],
  });
  const queue = [];
  const waiters = [];
  child.proc.on("message", (m) => {
    if (m.type === "hello") return child.proc.send({ type: "init", ...init });
    const w = waiters.findIndex((x) => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else queue.push(m);
  });
  child.proc.once("exit", (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} client process exited (${code})`));
  });
  return {
    send: (m) => child.exited || child.proc.send(m),
    next(type, timeout) {
      const q = queue.findIndex((m) => m.type === type);
      if (q >= 0) return Promise.resolve(queue.splice(q, 1)[0]);
      if (child.exited) return Promise.reject(new Error(`${name} client process has exited`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${type}" within ${timeout} ms`)), timeout);
        waiters.push({
          type,
          resolve: (m) => (clearTimeout(timer), resolve(m)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    async stop() {
      if (child.exited) return;
      child.proc.send({ type: "stop" });
      const exited = new Promise((r) => child.proc.once("exit", r));
      if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
      await child.stop();
    },
  };
}

async function pullWith(server, expected, inFlight, role = "pull") {
  const puller = startRole(role, { url: server.wsUrl, expected, inFlight });
  try {
    await puller.next("ready", 30_000);
    const cpu0 = cpuSeconds(server.pid);
    puller.send({ type: "go" });
    const r = await puller.next("done", PULL_TIMEOUT_MS + 10_000);
    r.cpu = cpuSeconds(server.pid) - cpu0;
    if (r.failed > 0) {
      r.seconds = `${r.failed} of ${r.total} unavailable after ${r.seconds === null ? "timeout" : r.seconds.toFixed(1) + " s"}`;
    }
    return r;
  } finally {
    await puller.stop();
  }
}

async function measure(start) {
  const dir = mkdtempSync(join(tmpdir(), "closeloop-compare-"));
  let server;
  const started = [];
  try {
    server = await start(dir);
    const name = server.name;
    log(`${name}: pid ${server.pid}, ${server.wsUrl.replace(/token=.*/, "token=…")}`);
    const rss = rssSampler(server.pid);
    log(`${name}: started, RSS ${rss.nowMb()} MB`);
    const idle = startRole("idle", { url: server.wsUrl, count: opts.idle });
    started.push(idle);
    await idle.next("ready", 60_000);
    log(`${name}: ${opts.idle} idle clients connected, RSS ${rss.nowMb()} MB`);

    const tablets = startRole("tablets", {
      url: server.wsUrl,
      tablets: opts.tablets,
      records: opts.records,
      changes: opts.changes,
    });
    started.push(tablets);
    await tablets.next("ready", 60_000);
    const ingestCpu0 = cpuSeconds(server.pid);
    tablets.send({ type: "go" });
    const load = await tablets.next("acked", INGEST_TIMEOUT_MS + 120_000);
    load.cpu = cpuSeconds(server.pid) - ingestCpu0;
    load.changes = opts.tablets * opts.records * (1 + opts.changes);
    if (load.pending > 0) log(`${name}: ${load.pending} records not acknowledged in ${INGEST_TIMEOUT_MS / 1000} s`);
    log(`${name}: changes made in ${load.madeSeconds.toFixed(2)} s, all acknowledged after ${load.seconds?.toFixed(2) ?? "timeout"} s, server CPU ${load.cpu.toFixed(2)} s, RSS ${rss.nowMb()} MB`);
    await sleep(2_000); // let acknowledgements of acknowledgements settle

    const fmtLog = (r) => `${typeof r.seconds === "number" ? r.seconds.toFixed(2) + " s" : r.seconds ?? "timeout"}, server CPU ${r.cpu.toFixed(2)} s, puller CPU ${r.clientCpu.toFixed(2)} s`;
    const bounded = await pullWith(server, load.expected, opts.inFlight);
    log(`${name}: pull, ${opts.inFlight} in flight: ${fmtLog(bounded)}, RSS ${rss.nowMb()} MB`);
    const bare = await pullWith(server, load.expected, opts.inFlight, "bare");
    log(`${name}: bare protocol pull, ${opts.inFlight} in flight: ${fmtLog(bare)}, RSS ${rss.nowMb()} MB`);
    let unbounded = null;
    if (opts.unbounded) {
      unbounded = await pullWith(server, load.expected, null);
      log(`${name}: pull, Promise.all: ${fmtLog(unbounded)}`);
    }

    // The tablets leave: nobody follows the records any more. Our relay
    // then drops them from memory (they reload from SQLite on the next
    // request); the reference keeps every document it has seen.
    await tablets.stop();
    await sleep(2_000);
    const afterLeft = await pullWith(server, load.expected, opts.inFlight);
    log(`${name}: pull after the tablets left, ${opts.inFlight} in flight: ${fmtLog(afterLeft)}, RSS ${rss.nowMb()} MB`);

    const asker = startRole("ask", { url: server.wsUrl });
    started.push(asker);
    const ask = await asker.next("done", 3 * ASK_TIMEOUT_MS + 30_000);
    log(`${name}: create-then-ask ${ask.ms === null ? "timeout" : ask.ms.toFixed(0) + " ms"} (the asker's handle was ${ask.state} first)`);

    for (const role of started.splice(0).reverse()) await role.stop();
    log(`${name}: every client gone, RSS ${rss.nowMb()} MB`);
    const cpuTotal = cpuSeconds(server.pid);
    const peakKb = rss.stop();
    return { load, bounded, bare, unbounded, afterLeft, ask, cpuTotal, peakKb };
  } finally {
    for (const role of started.reverse()) await role.stop();
    if (server) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- table
const fmt = (v, digits) => (v === null || v === undefined ? "timeout" : typeof v === "string" ? v : v.toFixed(digits));
function ratio(ours, ref) {
  if (typeof ours !== "number" || typeof ref !== "number" || ref === 0) return "–";
  return `${(ours / ref).toFixed(2)}×`;
}

function table(ours, ref) {
  const rows = [];
  const row = (what, f, digits, unit = "") => {
    const o = ours ? f(ours) : undefined;
    const r = ref ? f(ref) : undefined;
    const cell = (v) => (v === undefined ? "–" : `${fmt(v, digits)}${typeof v === "number" ? unit : ""}`);
    rows.push(`| ${what} | ${cell(o)} | ${cell(r)} | ${ratio(o, r)} |`);
  };
  const n = opts.tablets * opts.records;
  const changes = n * (1 + opts.changes);
  row(
    `ingest: ${opts.tablets} tablets × ${opts.records} records × (1 + ${opts.changes}) changes = ${changes} changes; changes/s until every record's final heads are acknowledged`,
    (m) => (m.load.seconds === null ? null : m.load.changes / m.load.seconds),
    0,
  );
  row("ingest: seconds until all acknowledged", (m) => m.load.seconds, 2, " s");
  row("ingest: seconds until the tablets had made every change (client-bound)", (m) => m.load.madeSeconds, 2, " s");
  row("server CPU (user + system) during ingest", (m) => m.load.cpu, 2, " s");
  row(`fresh pull of ${n} records, ${opts.inFlight} finds in flight`, (m) => m.bounded.seconds, 2, " s");
  row("server CPU during that pull", (m) => m.bounded.cpu, 2, " s");
  row("puller (Node client) CPU during that pull", (m) => m.bounded.clientCpu, 2, " s");
  row(`fresh pull of ${n} records by a bare protocol client (Automerge sync, no repo), ${opts.inFlight} in flight`, (m) => m.bare.seconds, 2, " s");
  row("server CPU during that pull", (m) => m.bare.cpu, 2, " s");
  row("bare client CPU during that pull", (m) => m.bare.clientCpu, 2, " s");
  if (opts.unbounded) {
    row(`fresh pull of ${n} records, all finds at once (Promise.all)`, (m) => m.unbounded.seconds, 2, " s");
    row("server CPU during that pull", (m) => m.unbounded.cpu, 2, " s");
    row("puller (Node client) CPU during that pull", (m) => m.unbounded.clientCpu, 2, " s");
  }
  row(`fresh pull of ${n} records, ${opts.inFlight} in flight, after the tablets disconnected`, (m) => m.afterLeft.seconds, 2, " s");
  row("server CPU during that pull", (m) => m.afterLeft.cpu, 2, " s");
  row("puller (Node client) CPU during that pull", (m) => m.afterLeft.clientCpu, 2, " s");
  row("create-then-ask: ms from the creator connecting until the asker's handle is ready (10 s limit)", (m) => m.ask.ms, 0, " ms");
  row("server CPU, whole run (start-up, login, all of the above)", (m) => m.cpuTotal, 2, " s");
  row(`server peak RSS (VmRSS every 100 ms, and VmHWM), ${opts.idle} idle clients connected throughout`, (m) => m.peakKb / 1024, 0, " MB");
  return [
    "| measurement | closeloop-server | JS reference | ours / reference |",
    "|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

let ours = null;
let ref = null;
if (opts.only !== "reference") ours = await measure(startOurs);
if (opts.only !== "ours") ref = await measure(startReference);
console.log(table(ours, ref));
console.log(
  [
    "",
    `- Same driver and client library for both: automerge-repo 2.5.6 with the WebSocket client adapter, unmodified, no storage; each client role (${opts.idle} idle connections, the tablets, each puller, the ask pair) is its own Node process on this ${cpus().length}-core machine, beside the server.`,
    `- Ingest: each tablet changes each of its records once per round, a round at most every ${ROUND_MS} ms (automerge-repo sends a document at most every 100 ms), so every change is its own sync message. Done when each tablet's sync state holds, from the server, heads equal to its own final heads for every record (ours sends that only after the SQLite commit, the reference after applying in memory). The tablets' own Automerge work bounds the rate; the server CPU row is the comparison that does not depend on it.`,
    "- A pull ends when every handle is ready with the tablet's final heads. The first two pulls run with the tablets and idle clients connected; the third after the tablets disconnected, when our relay has dropped the unfollowed records from memory and reloads each from its stored chunks (the reference never drops a document). automerge-repo gives up on a document after 60 s (\"unavailable\"). Pull times are bound by the puller's own Automerge work and vary from run to run; the server CPU rows are steadier.",
    "- The reference stores with NodeFS (automerge-repo-storage-nodefs 2.5.6); ours with SQLite (synchronous=FULL). Every client of ours uses one head-office token.",
  ].join("\n"),
);
process.exit(0);
