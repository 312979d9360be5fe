// Diagnosis for the fresh-pull comparison: which frames, how many round
// trips and how much waiting a pull costs per document, against
// closeloop-server and against the JS reference sync server.
//
// One tablet stores N records (1 creation + C changes each, as in
// compare.mjs), then a fresh, unmodified automerge-repo client pulls them
// all; its WebSocket adapter is wrapped only to log every frame it sends and
// receives (CBOR decoded, sync payloads decoded with Automerge). Prints a
// per-server summary and the frame sequence of the first documents.
//
// --bare pulls with a minimal protocol client instead (raw WebSocket, CBOR,
// Automerge sync from an empty document, no acknowledgements), so server
// latency is not hidden behind automerge-repo's own work. --keep-seed keeps
// the seeding tablet connected during the pull (the documents stay followed,
// so our relay keeps them in memory); by default it disconnects first.
// --no-apply (with --bare): a document counts as pulled when a sync frame
// carrying changes names its final heads, without applying it, so the
// client costs next to nothing and the server's rate shows.
//
// usage: node tests/bench/pull-frames.mjs [--only ours|reference] [--records N]
//        [--changes N] [--in-flight N|all] [--show K] [--bare] [--keep-seed]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { Repo, cbor } from "@automerge/automerge-repo";
import { bareClient } from "./bare-client.mjs";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { cpuSeconds, log, sleep, startOurs, startReference } from "./servers.mjs";

const opts = { only: null, records: 200, changes: 20, inFlight: 64, show: 3, bare: false, keepSeed: false };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--bare") {
      opts.bare = true;
      i -= 1;
    } else if (k === "--no-apply") {
      opts.noApply = true;
      i -= 1;
    } else if (k === "--keep-seed") {
      opts.keepSeed = true;
      i -= 1;
    } else if (k === "--only") opts.only = v;
    else if (k === "--records") opts.records = Number(v);
    else if (k === "--changes") opts.changes = Number(v);
    else if (k === "--in-flight") opts.inFlight = v === "all" ? Infinity : Number(v);
    else if (k === "--show") opts.show = Number(v);
    else {
      console.error(`unknown argument ${k}`);
      process.exit(2);
    }
  }
}
setTimeout(() => {
  console.error("pull-frames: watchdog (5 min)");
  process.exit(1);
}, 300_000).unref();

/** The stock adapter, logging each frame with a timestamp; nothing else changes. */
class LoggingAdapter extends WebSocketClientAdapter {
  frames = [];
  send(message) {
    this.#note("out", message, cbor.encode(message).byteLength);
    super.send(message);
  }
  receiveMessage(bytes) {
    const message = cbor.decode(new Uint8Array(bytes));
    this.#note("in", message, bytes.byteLength);
    super.receiveMessage(bytes);
  }
  #note(dir, m, bytes) {
    this.frames.push(frame(dir, m, bytes));
  }
}

/** A frame as the summary reads it, sync payloads decoded. */
function frame(dir, m, bytes) {
  const f = { t: performance.now(), dir, type: m.type, doc: m.documentId, bytes };
  if (m.data && (m.type === "sync" || m.type === "request")) {
    const s = A.decodeSyncMessage(new Uint8Array(m.data));
    Object.assign(f, { heads: s.heads.length, need: s.need.length, have: s.have.length, changes: s.changes.length, payload: m.data.byteLength });
  }
  return f;
}

const DESCRIPTION = "门店反馈：试吃区没有垃圾桶，顾客把纸杯放在货架上。";

async function seed(server) {
  const repo = new Repo({ network: [new WebSocketClientAdapter(server.wsUrl)] });
  while (repo.peers.length === 0) await sleep(20);
  const records = new Map();
  repo.synchronizer.on("sync-state", ({ documentId, syncState }) => {
    const r = records.get(documentId);
    if (r && syncState.theirHeads) r.theirs = [...syncState.theirHeads].sort().join();
  });
  for (let n = 0; n < opts.records; n++) {
    const handle = repo.create({
      customer: new A.ImmutableString(`顾客 ${n}`),
      description: DESCRIPTION,
      log: [],
    });
    records.set(handle.documentId, { handle, theirs: null });
  }
  for (let round = 0; round < opts.changes; round++) {
    for (const { handle } of records.values()) {
      handle.change((d) => {
        if (round % 2) A.splice(d, ["description"], d.description.length, 0, `（补充 ${round}）`);
        // A plain string: our relay's write rule refuses a nested text object.
        else d.log.push({ note: new A.ImmutableString(`第 ${round} 次跟进`) });
      });
    }
    await sleep(110);
  }
  const deadline = Date.now() + 60_000;
  const heads = (h) => A.getHeads(h.doc()).sort().join();
  while ([...records.values()].some((r) => r.theirs !== heads(r.handle))) {
    if (Date.now() > deadline) throw new Error("seed not acknowledged in 60 s");
    await sleep(50);
  }
  const expected = new Map([...records].map(([id, r]) => [id, heads(r.handle)]));
  if (!opts.keepSeed) {
    await repo.shutdown();
    return { expected, stop: async () => {} };
  }
  return { expected, stop: () => repo.shutdown() };
}

/**
 * The protocol by hand: join, then `request` frames carrying the sync
 * message of an empty document, `inFlight` at a time; a document is done
 * when a sync frame brings its heads. Logs frames like LoggingAdapter.
 */
async function barePull(server, expected) {
  const frames = [];
  const note = (dir, m, bytes) => frames.push(frame(dir, m, bytes));
  const bare = await bareClient(server.wsUrl, { note, apply: !opts.noApply });
  const ready = new Map();
  const ids = [...expected.keys()];
  let unavailable = 0;
  const t0 = performance.now();
  const one = async (id) => {
    if (!(await bare.pull(id, expected.get(id)))) unavailable += 1;
    ready.set(id, performance.now());
  };
  const n = opts.inFlight === Infinity ? ids.length : opts.inFlight;
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, ids.length) }, async () => {
    while (next < ids.length) await one(ids[next++]);
  }));
  const total = performance.now() - t0;
  await sleep(300);
  bare.close();
  if (unavailable) console.log(`bare pull: ${unavailable} documents unavailable`);
  return { frames, ready, total, t0 };
}

async function pull(server, expected) {
  const adapter = new LoggingAdapter(server.wsUrl);
  const repo = new Repo({ network: [adapter] });
  while (repo.peers.length === 0) await sleep(20);
  await sleep(200);
  adapter.frames.length = 0;
  const ids = [...expected.keys()];
  const ready = new Map();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const one = async (id) => {
    const h = await repo.find(id);
    while (A.getHeads(h.doc()).sort().join() !== expected.get(id)) {
      await new Promise((r) => h.once("heads-changed", r));
    }
    ready.set(id, performance.now());
  };
  if (opts.inFlight === Infinity) await Promise.all(ids.map(one));
  else {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(opts.inFlight, ids.length) }, async () => {
        while (next < ids.length) await one(ids[next++]);
      }),
    );
  }
  const total = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  await sleep(300); // frames that follow readiness (acknowledgements)
  await repo.shutdown();
  return { frames: adapter.frames, ready, total, t0, clientCpu: (c.user + c.system) / 1e6 };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};

function summarise(name, { frames, ready, total, t0, clientCpu, serverCpu }) {
  const byDoc = new Map();
  for (const f of frames) {
    if (!f.doc) continue;
    if (!byDoc.has(f.doc)) byDoc.set(f.doc, []);
    byDoc.get(f.doc).push(f);
  }
  const docs = [...byDoc.entries()];
  const count = (fs, dir, pred = () => true) => fs.filter((f) => f.dir === dir && pred(f)).length;
  const perDoc = docs.map(([id, fs]) => {
    const first = fs.find((f) => f.dir === "out");
    const firstIn = fs.find((f) => f.dir === "in");
    const firstChanges = fs.find((f) => f.dir === "in" && f.changes > 0);
    // Round trips before ready: client frames sent before the document was ready.
    const readyAt = ready.get(id);
    return {
      out: count(fs, "out"),
      inn: count(fs, "in"),
      outBeforeReady: fs.filter((f) => f.dir === "out" && f.t <= readyAt).length,
      inBeforeReady: fs.filter((f) => f.dir === "in" && f.t <= readyAt).length,
      firstReplyMs: firstIn ? firstIn.t - first.t : NaN,
      firstReplyHasChanges: firstIn ? firstIn.changes > 0 : false,
      firstReplyKind: firstIn ? `${firstIn.type} heads=${firstIn.heads} changes=${firstIn.changes} have=${firstIn.have} need=${firstIn.need}` : "none",
      changesMs: firstChanges ? firstChanges.t - first.t : NaN,
      readyMs: readyAt - first.t,
      waitToSend: first.t - t0,
    };
  });
  const kinds = new Map();
  for (const d of perDoc) kinds.set(d.firstReplyKind.replace(/heads=\d+/, "heads=n").replace(/changes=[1-9]\d*/, "changes=all"), (kinds.get(d.firstReplyKind.replace(/heads=\d+/, "heads=n").replace(/changes=[1-9]\d*/, "changes=all")) ?? 0) + 1);
  const avg = (k) => (perDoc.reduce((s, d) => s + d[k], 0) / perDoc.length).toFixed(2);
  const frameTypes = new Map();
  for (const f of frames) {
    const k = `${f.dir} ${f.type}${f.changes !== undefined ? (f.changes > 0 ? " (changes)" : " (no changes)") : ""}`;
    frameTypes.set(k, (frameTypes.get(k) ?? 0) + 1);
  }
  console.log(`\n## ${name}: pull of ${ready.size} documents, ${opts.inFlight} in flight: ${(total / 1000).toFixed(2)} s${clientCpu === undefined ? "" : `, client CPU ${clientCpu.toFixed(2)} s`}, server CPU ${serverCpu.toFixed(2)} s (incl. 300 ms after)`);
  console.log(`frames by kind: ${[...frameTypes].map(([k, v]) => `${k}: ${v}`).join("; ")}`);
  console.log(`per document: ${avg("out")} frames out, ${avg("inn")} in; before ready ${avg("outBeforeReady")} out / ${avg("inBeforeReady")} in`);
  console.log(`first server reply: ${[...kinds].map(([k, v]) => `${v}× ${k}`).join("; ")}`);
  for (const k of ["firstReplyMs", "changesMs", "readyMs", "waitToSend"]) {
    const xs = perDoc.map((d) => d[k]).filter((x) => !Number.isNaN(x));
    console.log(`${k}: p50 ${pct(xs, 0.5).toFixed(1)} ms, p90 ${pct(xs, 0.9).toFixed(1)} ms, max ${pct(xs, 1).toFixed(1)} ms`);
  }
  for (const [id, fs] of docs.slice(0, opts.show)) {
    const base = fs[0].t;
    console.log(`  ${id}:`);
    for (const f of fs) {
      const sync = f.changes !== undefined ? ` heads=${f.heads} need=${f.need} have=${f.have} changes=${f.changes} (${f.payload} B)` : "";
      console.log(`    +${(f.t - base).toFixed(1).padStart(7)} ms ${f.dir.padEnd(3)} ${f.type}${sync}`);
    }
    console.log(`    ready at +${(ready.get(id) - base).toFixed(1)} ms`);
  }
}

for (const [which, start] of [
  ["ours", startOurs],
  ["reference", startReference],
]) {
  if (opts.only && opts.only !== which) continue;
  const dir = mkdtempSync(join(tmpdir(), "closeloop-frames-"));
  const server = await start(dir);
  try {
    log(`${server.name}: seeding ${opts.records} records`);
    const { expected, stop } = await seed(server);
    await sleep(500);
    const metrics = async () => {
      if (!server.httpUrl) return {};
      const headers = server.metricsToken ? { authorization: `Bearer ${server.metricsToken}` } : {};
      const text = await (await fetch(`${server.httpUrl}/metrics`, { headers })).text();
      return Object.fromEntries(text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/)).map(([k, v]) => [k, Number(v)]));
    };
    const m0 = await metrics();
    const cpu0 = cpuSeconds(server.pid);
    const result = await (opts.bare ? barePull : pull)(server, expected);
    result.serverCpu = cpuSeconds(server.pid) - cpu0;
    const m1 = await metrics();
    const delta = Object.keys(m1).filter((k) => m1[k] !== m0[k] && /load|frames|evicted|compacted/.test(k)).map((k) => `${k} +${m1[k] - (m0[k] ?? 0)}`);
    if (delta.length) console.log(`server metrics during the pull: ${delta.join(", ")}`);
    summarise(`${server.name}${opts.bare ? " (bare protocol client)" : ""}${opts.keepSeed ? ", seeding tablet still connected" : ", seeding tablet gone"}`, result);
    await stop();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(0);
