// The attack suite, bounds at the sync edge: frames built to cost the relay
// memory or time, sent below the protocol over a raw WebSocket, and a
// megabyte change from an unmodified automerge-repo JS client. Each must be
// refused, store nothing, keep nothing in memory, and leave /healthz
// answering within a second.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cbor } from "@automerge/automerge-repo";
import {
  api,
  client,
  emptySync,
  healthyWithinASecond,
  metrics,
  newRecord,
  openSocket,
  rawClient,
  refusedFrame,
  shutdown,
  startAttackServer,
  stored,
  unknownId,
  waitFor,
} from "./attack_support.mjs";
import { tokenFor } from "./support.mjs";

const IN_MEMORY = "closeloop_documents_in_memory";

test("bounds: oversized ids, item floods, unknown-id floods, megabyte changes and a ninth socket are refused and nothing is stored", { timeout: 180_000 }, async (t) => {
  const server = await startAttackServer("closeloop-attacks-bounds-");
  const { url } = server;
  const clients = [];
  try {
    // One honest record, so that "still served" means something.
    const north = await client(url, "field-north");
    clients.push(north);
    const real = north.repo.create(newRecord("field-north"));
    const office = await tokenFor(url, "office");
    await waitFor("the real record to be stored", async () => (await api(url, office, `/api/records/${real.documentId}`)).status === 200);
    const before = await stored(url, office);
    const inMemory = (await metrics(url))[IN_MEMORY];
    const unchanged = async (what) => {
      assert.deepEqual(await stored(url, office), before, `${what}: nothing stored`);
      assert.ok((await metrics(url))[IN_MEMORY] <= inMemory, `${what}: no document kept in memory`);
    };

    await t.test("a sync frame with a 200,000-character document id", async () => {
      const c = await rawClient(url, north.token);
      const frame = cbor.encode({
        type: "sync",
        senderId: c.peerId,
        targetId: c.relayId,
        documentId: "2".repeat(200_000),
        data: emptySync(),
      });
      const error = await refusedFrame(url, c, frame, "a 200,000-character id");
      assert.match(error, /over 2048 bytes/);
      // Under the frame's text limit, over the id's: refused before base58 decoding.
      const again = await rawClient(url, north.token);
      const error2 = await refusedFrame(url, again, cbor.encode({
        type: "sync",
        senderId: again.peerId,
        targetId: again.relayId,
        documentId: "2".repeat(2_000),
        data: emptySync(),
      }), "a 2,000-character id");
      assert.match(error2, /over 256 bytes/);
      await unchanged("an oversized id");
    });

    await t.test("a 1 MiB frame of tiny CBOR items", async () => {
      const c = await rawClient(url, north.token);
      // A CBOR array header (0x9a + 32-bit length) and a million zeros, 1 MiB in all.
      const frame = new Uint8Array(1024 * 1024);
      const items = frame.length - 5;
      frame.set([0x9a, items >>> 24, (items >>> 16) & 0xff, (items >>> 8) & 0xff, items & 0xff]);
      const error = await refusedFrame(url, c, frame, "a frame of a million items");
      assert.match(error, /more than 64 CBOR items/);
      await unchanged("a frame of a million items");
    });

    await t.test("thousands of syncs for unknown document ids", async () => {
      const c = await rawClient(url, north.token);
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 500; i++) c.sync(unknownId(), emptySync());
        await healthyWithinASecond(url, `500 unknown ids, round ${round + 1}`);
        await c.roundTrip();
      }
      assert.equal(c.closed, null, "syncing unknown ids is allowed, only not remembered");
      assert.equal((await metrics(url))[IN_MEMORY], inMemory, "documents in memory stay flat");
      c.ws.close();
      // The real record is still served, over sync and the API.
      const reader = await client(url, "field-north");
      clients.push(reader);
      const h = await reader.repo.find(real.documentId);
      assert.equal(h.doc().description, "冷柜温度过高，饮料不冰。");
      assert.equal((await api(url, office, `/api/records/${real.documentId}`)).status, 200);
      await unchanged("thousands of unknown ids");
    });

    await t.test("a change carrying megabytes of text from the JS client", async () => {
      const attacker = await client(url, "field-north");
      clients.push(attacker);
      const big = attacker.repo.create(newRecord("field-north", { description: "长".repeat(1_000_000) }));
      await waitFor("the relay to close the socket", () => attacker.closed, 60_000);
      await healthyWithinASecond(url, "a 3 MB change");
      // Today: "sync payload refused: the record would have more than 250000 operations".
      assert.match(attacker.errors.join("\n"), /refused: .*(more than|over the limit)/, "an error naming the limit");
      assert.equal((await api(url, office, `/api/records/${big.documentId}`)).status, 404);
      await unchanged("a 3 MB change");
    });

    await t.test("a ninth sync socket for one user", async () => {
      const token = await tokenFor(url, "field-south");
      const headers = { authorization: `Bearer ${token}` };
      const open = [];
      for (let i = 0; i < 8; i++) {
        const r = await openSocket(url, { headers });
        assert.equal(r.status, 101, `socket ${i + 1} of 8`);
        open.push(r.ws);
      }
      // Refused at the upgrade, before the relay hears of a connection.
      const ninth = await openSocket(url, { headers });
      assert.equal(ninth.status, 429, ninth.body);
      assert.match(ninth.body, /too many sync connections/);
      await healthyWithinASecond(url, "a ninth socket");
      // Another user is not affected.
      const other = await openSocket(url, { token: office });
      assert.equal(other.status, 101);
      other.ws.close();
      // Once one closes, its place is free again.
      const first = open.shift();
      await new Promise((r) => {
        first.once("close", r);
        first.close();
      });
      const again = await waitFor("the place to free", async () => {
        const r = await openSocket(url, { headers });
        return r.status === 101 ? r : null;
      });
      open.push(again.ws);
      for (const ws of open) ws.close();
      await unchanged("a ninth socket");
    });
  } finally {
    await shutdown(clients);
    await server.stop();
  }
});
