// The attack suite: a hostile field user with an unmodified automerge-repo
// JS client tries what a signed-in tablet could. Each attack must be
// refused (the relay answers `closeloop-refused`, which the JS client's
// adapter emits) and nothing of it may be stored, projected or forwarded.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { freePort, startServer, tempDir, tokenFor } from "./support.mjs";

async function waitFor(what, check, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A JS client signed in as `user`, recording every refusal it is sent. */
async function client(url, user) {
  const token = await tokenFor(url, user);
  const adapter = new WebSocketClientAdapter(`${url.replace("http", "ws")}/sync?token=${encodeURIComponent(token)}`);
  const refused = [];
  adapter.on("message", (m) => {
    if (m.type === "closeloop-refused") refused.push(m);
  });
  const repo = new Repo({ network: [adapter] });
  try {
    await waitFor(`${user} to connect`, () => repo.peers.length > 0);
  } catch (e) {
    // A client that cannot connect keeps retrying: stop it, or the test never exits.
    await repo.shutdown().catch(() => {});
    throw e;
  }
  return { repo, refused, token };
}

async function api(url, token, path) {
  const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: r.ok ? await r.json() : null };
}

const now = () => new Date();
// Scalars as Closeloop writes them (a plain JS string would become text).
const s = (v) => new A.ImmutableString(v);
const ATTACKS = [
  // [name, expected reason code, the change]
  ["a head-office workflow step", "forbidden", (d) => d.history.push({ action: s("close"), by: s("field-north"), at: now(), from: s("registered") })],
  ["a step in head office's name", "forged_author", (d) => d.history.push({ action: s("start"), by: s("office"), at: now(), from: s("registered") })],
  ["a log entry in someone else's name", "forged_author", (d) => d.log.push({ at: now(), by: s("office"), text: s("总部已处理") })],
  ["a cross-team reassignment", "forbidden", (d) => { d.owner = { v: s("field-south"), by: s("field-north"), at: now() }; }],
  ["a priority (an SLA fact)", "forbidden", (d) => { d.priority = { v: s("P3"), by: s("field-north"), at: now() }; }],
  ["deleting a history entry", "rewrite", (d) => d.history.deleteAt(0)],
  ["rewriting a history entry", "rewrite", (d) => { d.history[0].by = s("field-north"); }],
  ["replacing the whole history", "rewrite", (d) => { d.history = []; }],
  ["changing who captured it", "rewrite", (d) => { d.capturedBy = s("office"); }],
  ["a key the record does not have", "rewrite", (d) => { d.approved = true; }],
  ["a description over the record's limit", "too_long", (d) => A.splice(d, ["description"], 0, 0, "长".repeat(10_001))],
];

test("forged steps, authorship, reassignment and rewritten history are refused and nothing is stored", { timeout: 180_000 }, async () => {
  const server = await startServer(tempDir("closeloop-attacks-"), await freePort());
  const clients = [];
  try {
    // An honest record of north's, registered by head office.
    const north = await client(server.url, "field-north");
    clients.push(north);
    const handle = north.repo.create({
      schemaVersion: 2,
      receivedAt: now(),
      capturedBy: new A.ImmutableString("field-north"),
      channel: new A.ImmutableString("store_box"),
      source: new A.ImmutableString("external_customer"),
      customer: new A.ImmutableString("会员 2231"),
      description: "冷柜温度过高，饮料不冰。",
      solution: "",
      aspects: {},
      attachments: [],
      history: [],
      log: [],
    });
    const id = handle.documentId;
    const office = await client(server.url, "office");
    clients.push(office);
    await waitFor("the record to be stored", async () => (await api(server.url, office.token, `/api/records/${id}`)).status === 200);
    const officeHandle = await office.repo.find(id);
    officeHandle.change((d) => d.history.push({ action: s("register"), by: s("office"), at: now(), from: s("new") }));
    await waitFor("head office's step to be stored", async () =>
      (await api(server.url, office.token, `/api/records/${id}`)).body?.status === "registered");
    const stored = async () => (await api(server.url, office.token, `/api/records/${id}`)).body;
    const before = await stored();

    for (const [name, code, attack] of ATTACKS) {
      // A fresh connection and a copy straight from the relay for each attack.
      const attacker = await client(server.url, "field-north");
      clients.push(attacker);
      const h = await attacker.repo.find(id);
      await waitFor(`${name}: the relay's copy`, () => h.doc().history?.length === 1);
      h.change(attack);
      const refusal = await waitFor(`${name}: the refusal`, () => attacker.refused.find((m) => m.documentId === id));
      assert.equal(refusal.code, code, `${name}: ${refusal.reason}`);
      assert.deepEqual(await stored(), before, `${name}: nothing reached storage or the read model`);
      // A user may hold only a few sockets: close this one before the next.
      clients.pop();
      await attacker.repo.shutdown();
    }

    // Head office's copy never saw any of it; south never reaches the record.
    const changes = (await api(server.url, office.token, `/api/records/${id}/changes`)).body;
    assert.deepEqual(
      changes.map((c) => c.by),
      ["field-north", "office"],
      "only the capture and head office's step were stored, each with its session's user",
    );
    assert.equal(officeHandle.doc().history.length, 1);
    assert.equal(officeHandle.doc().log.length, 0);
    const south = await tokenFor(server.url, "field-south");
    assert.equal((await api(server.url, south, `/api/records/${id}`)).status, 404);
  } finally {
    for (const c of clients) {
      try {
        await c.repo.shutdown();
      } catch {
        // a socket the relay already closed
      }
    }
    await server.stop();
  }
});
