// The attack suite: a hostile field user with an unmodified automerge-repo
// JS client tries what a signed-in tablet could. Each attack must be
// refused (the relay answers `closeloop-refused`, which the JS client's
// adapter emits) and nothing of it may be stored, projected or forwarded.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as A from "@automerge/automerge";
import { api, client, newRecord, openSocket, s, shutdown, waitFor } from "./attack_support.mjs";
import { freePort, startServer, tempDir, tokenFor } from "./support.mjs";

/** Refused changes one user may send in ten minutes (`shared/src/relay/refusals.rs`). */
const MAX_USER_REFUSALS = 10;

const now = () => new Date();
const ATTACKS = [
  // [name, expected reason code, the change]
  ["a head-office workflow step", "forbidden", (d, me) => d.history.push({ action: s("close"), by: s(me), at: now(), from: s("registered") })],
  ["a step in head office's name", "forged_author", (d) => d.history.push({ action: s("start"), by: s("office"), at: now(), from: s("registered") })],
  ["a log entry in someone else's name", "forged_author", (d) => d.log.push({ at: now(), by: s("office"), text: s("总部已处理") })],
  ["a cross-team reassignment", "forbidden", (d, me) => { d.owner = { v: s("field-south"), by: s(me), at: now() }; }],
  ["a priority (an SLA fact)", "forbidden", (d, me) => { d.priority = { v: s("P3"), by: s(me), at: now() }; }],
  ["deleting a history entry", "rewrite", (d) => d.history.deleteAt(0)],
  ["rewriting a history entry", "rewrite", (d, me) => { d.history[0].by = s(me); }],
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
    const handle = north.repo.create(newRecord("field-north"));
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

    // Two north users (both test accounts) take turns: one user may send
    // only ten refused changes in ten minutes (shown at the end).
    for (const [i, [name, code, attack]] of ATTACKS.entries()) {
      // A fresh connection and a copy straight from the relay for each
      // attack (closed after it: a user may hold 8 sync sockets).
      const me = i % 2 ? "field-north-2" : "field-north";
      const attacker = await client(server.url, me);
      const h = await attacker.repo.find(id);
      await waitFor(`${name}: the relay's copy`, () => h.doc().history?.length === 1);
      h.change((d) => attack(d, me));
      const refusal = await waitFor(`${name}: the refusal`, () => attacker.refused.find((m) => m.documentId === id));
      assert.equal(refusal.code, code, `${name}: ${refusal.reason}`);
      assert.deepEqual(await stored(), before, `${name}: nothing reached storage or the read model`);
      await shutdown([attacker]);
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

    // A user who keeps at it over new connections is shut out for a while.
    const sent = ATTACKS.filter((_, i) => i % 2 === 0).length;
    for (let n = sent; n < MAX_USER_REFUSALS; n++) {
      const attacker = await client(server.url, "field-north");
      const h = await attacker.repo.find(id);
      await waitFor("the relay's copy", () => h.doc().history?.length === 1);
      h.change((d) => { d.priority = { v: s(`P${n % 4}`), by: s("field-north"), at: new Date(2026, 0, 1, 0, n) }; });
      await waitFor("the refusal or the close", () => attacker.refused.length > 0 || attacker.closed);
      await shutdown([attacker]);
    }
    const { ws } = await openSocket(server.url, { token: north.token });
    const closed = await new Promise((resolve) => ws.on("close", (code, reason) => resolve(reason.toString())));
    assert.match(closed, /too many refused changes/, "a new connection is closed at once");
    assert.deepEqual(await stored(), before, "and nothing of it was stored");
  } finally {
    await shutdown(clients);
    await server.stop();
  }
});
