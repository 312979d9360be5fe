// Helpers for the attack suite (tests/e2e/attacks*.test.mjs): the hostile
// clients — an unmodified automerge-repo JS client, a raw WebSocket that
// speaks the wire protocol by hand, plain fetch — and the observations
// that show an attack changed nothing (the office's view of storage, the
// relay's metrics, /healthz answering within a second).
import assert from "node:assert/strict";
import * as A from "@automerge/automerge";
import { Repo, cbor, generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import WebSocket from "ws";
import { freePort, startServer, tempDir, tokenFor } from "./support.mjs";

/** The `/metrics` bearer token the attack servers are started with. */
export const METRICS_TOKEN = "attack-suite-metrics-token";

/** A fresh server (own data directory, the three e2e users) with metrics on. */
export async function startAttackServer(prefix) {
  return startServer(tempDir(prefix), await freePort(), { extraArgs: ["--metrics-token", METRICS_TOKEN] });
}

/** Polls `check` until it returns something truthy (20 s at most by default). */
export async function waitFor(what, check, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A JS client signed in as `user`: the refusals it is sent, the `error`
 * messages and the close of its socket (what the relay does to it).
 */
export async function client(url, user) {
  const token = await tokenFor(url, user);
  const adapter = new WebSocketClientAdapter(`${url.replace("http", "ws")}/sync?token=${encodeURIComponent(token)}`);
  const c = { user, token, adapter, refused: [], errors: [], closed: null };
  adapter.on("message", (m) => {
    if (m.type === "closeloop-refused") c.refused.push(m);
  });
  c.repo = new Repo({ network: [adapter] });
  try {
    await waitFor(`${user} to connect`, () => c.repo.peers.length > 0);
  } catch (e) {
    // A client that cannot connect keeps retrying: stop it, or the test never exits.
    adapter.retryInterval = 0;
    await c.repo.shutdown().catch(() => {});
    throw e;
  }
  // Several attacks end with the relay closing the socket. The adapter
  // would reconnect 5 s later (and in node rethrows a refused upgrade from
  // its error handler): these clients stay closed once closed.
  adapter.retryInterval = 0;
  const socket = adapter.socket;
  socket.addEventListener("message", (ev) => {
    const m = cbor.decode(new Uint8Array(ev.data));
    if (m.type === "error") c.errors.push(m.message);
  });
  socket.addEventListener("close", (ev) => {
    c.closed = { code: ev.code, reason: ev.reason, at: Date.now() };
  });
  return c;
}

export async function shutdown(clients) {
  for (const c of clients) {
    try {
      await c.repo.shutdown();
    } catch {
      // a socket the relay already closed
    }
  }
}

/** GET `path` with a bearer token: status and JSON body (null unless 2xx). */
export async function api(url, token, path) {
  const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: r.ok ? await r.json() : null };
}

/** What head office sees of storage: the change feed and the record list. */
export async function stored(url, officeToken) {
  const feed = await api(url, officeToken, "/api/documents?after=0");
  const records = await api(url, officeToken, "/api/records?per_page=200");
  assert.equal(feed.status, 200);
  assert.equal(records.status, 200);
  return { documents: feed.body.documents, records: records.body.records };
}

/** `/metrics` with the token, as `{name: number}`. */
export async function metrics(url) {
  const r = await fetch(url + "/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(r.status, 200, "metrics with the token");
  const out = {};
  for (const line of (await r.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const [name, value] = line.split(" ");
    out[name] = Number(value);
  }
  return out;
}

/** `/healthz` answers 200 within one second (the client gives up after it). */
export async function healthyWithinASecond(url, what) {
  const started = Date.now();
  const r = await fetch(url + "/healthz", { signal: AbortSignal.timeout(1000) });
  assert.equal(r.status, 200, `${what}: /healthz`);
  assert.ok(Date.now() - started < 1000, `${what}: /healthz took ${Date.now() - started} ms`);
}

const now = () => new Date();
// Scalars as Closeloop writes them (a plain JS string would become text).
export const s = (v) => new A.ImmutableString(v);

/** A new record as the PWA captures it, by `by`, with `fields` replaced. */
export function newRecord(by, fields = {}) {
  return {
    schemaVersion: 2,
    receivedAt: now(),
    capturedBy: s(by),
    channel: s("store_box"),
    source: s("external_customer"),
    customer: s("会员 2231"),
    description: "冷柜温度过高，饮料不冰。",
    solution: "",
    aspects: {},
    attachments: [],
    history: [],
    log: [],
    ...fields,
  };
}

/** A fresh, valid automerge-repo document id nobody has used. */
export const unknownId = () => parseAutomergeUrl(generateAutomergeUrl()).documentId;

/** The sync message of a peer that has nothing: valid, and changes nothing. */
export const emptySync = () => A.generateSyncMessage(A.init(), A.initSyncState())[1];

/**
 * Opens `/sync` with a raw WebSocket. `{status: 101, ws}` when the upgrade
 * succeeds, else `{status, body}` of the refusal.
 */
export function openSocket(url, { token, headers = {}, origin } = {}) {
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}/sync${query}`, { headers, origin });
    ws.once("open", () => resolve({ status: 101, ws }));
    ws.once("unexpected-response", (req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        resolve({ status: res.statusCode, body });
        req.destroy();
      });
    });
    ws.once("error", reject);
  });
}

/**
 * A raw WebSocket speaking automerge-repo's CBOR messages by hand, joined
 * as `peerId`: every message it is sent, decoded, and its close.
 */
export async function rawClient(url, token, peerId = `raw-${Math.random().toString(36).slice(2)}`) {
  const { status, ws } = await openSocket(url, { token });
  assert.equal(status, 101, "raw socket opens");
  const c = { ws, token, peerId, messages: [], closed: null };
  ws.on("message", (data) => c.messages.push(cbor.decode(new Uint8Array(data))));
  ws.on("close", (code, reason) => (c.closed = { code, reason: reason.toString() }));
  ws.on("error", () => {});
  c.send = (message) => ws.send(message instanceof Uint8Array ? message : cbor.encode(message));
  c.send({ type: "join", senderId: peerId, peerMetadata: {}, supportedProtocolVersions: ["1"] });
  const peer = await waitFor("the relay's peer message", () => c.messages.find((m) => m.type === "peer"));
  c.relayId = peer.senderId;
  c.sync = (documentId, data) =>
    c.send({ type: "sync", senderId: peerId, targetId: c.relayId, documentId, data });
  // Automerge's own sync with the relay for one document, by hand:
  // `follow(id)` syncs until `ready(doc)`; `change(id, fn)` makes a change
  // and sends it at once, in the same event-loop turn.
  const docs = new Map();
  ws.on("message", (data) => {
    const m = cbor.decode(new Uint8Array(data));
    const d = docs.get(m.documentId);
    if (m.type !== "sync" || !d) return;
    [d.doc, d.state] = A.receiveSyncMessage(d.doc, d.state, m.data);
    reply(m.documentId);
  });
  const reply = (documentId) => {
    const d = docs.get(documentId);
    const [state, message] = A.generateSyncMessage(d.doc, d.state);
    d.state = state;
    if (message) c.sync(documentId, message);
  };
  c.follow = async (documentId, ready) => {
    docs.set(documentId, { doc: A.init(), state: A.initSyncState() });
    const [state, message] = A.generateSyncMessage(A.init(), A.initSyncState());
    docs.get(documentId).state = state;
    c.send({ type: "request", senderId: peerId, targetId: c.relayId, documentId, data: message });
    await waitFor(`${documentId} from the relay`, () => ready(docs.get(documentId).doc));
  };
  c.change = (documentId, fn) => {
    const d = docs.get(documentId);
    d.doc = A.change(d.doc, fn);
    reply(documentId);
  };
  // The relay handles one socket's frames in order: once a request sent
  // now is answered, everything sent before it has been handled.
  c.roundTrip = async () => {
    const probe = unknownId();
    c.send({ type: "request", senderId: peerId, targetId: c.relayId, documentId: probe, data: emptySync() });
    await waitFor("the probe's answer", () => c.messages.some((m) => m.type === "doc-unavailable" && m.documentId === probe));
  };
  return c;
}

/**
 * Sends `frame` (bytes) on a raw client and returns the text of the `error`
 * the relay answers before closing the socket (10 s at most).
 */
export async function refusedFrame(url, c, frame, what) {
  c.ws.send(frame);
  await healthyWithinASecond(url, what);
  await waitFor(`${what}: the close`, () => c.closed, 10_000);
  const error = c.messages.find((m) => m.type === "error");
  assert.ok(error, `${what}: an error message before the close (${JSON.stringify(c.closed)})`);
  return error.message;
}
