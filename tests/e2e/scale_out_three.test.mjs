// Three relays on one PostgreSQL database behind a balancer (a small
// round-robin TCP proxy of our own, no sticky sessions): two tablets and
// head office reach whichever relay the balancer picks for each
// connection. One relay is SIGKILLed while the tablets capture and is
// restarted; nothing a tablet saw acknowledged is lost, every relay
// answers with every record, a photo uploaded through the balancer
// downloads through each relay, and an overdue record is escalated once —
// one notification, though three relays run the job.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { test } from "node:test";
import {
  PNG,
  SCREENSHOTS,
  freePort,
  launchBrowser,
  registerOverdue,
  sharedContactKey,
  signIn,
  signInTablet,
  startServer,
  tempDir,
  tokenFor,
  waitForInbox,
} from "./support.mjs";

const database = process.env.CLOSELOOP_TEST_POSTGRES;
const METRICS = "e2e-metrics-token";
const ROUNDS = 6;

/** A round-robin TCP balancer on loopback: each connection goes to the next relay that accepts it. */
async function balancer(ports) {
  let next = 0;
  const served = new Map(ports.map((p) => [p, 0]));
  const open = new Map(ports.map((p) => [p, 0]));
  const server = net.createServer((client) => {
    client.pause();
    client.on("error", () => {});
    const attempt = (tries) => {
      if (tries >= ports.length) return client.destroy();
      const port = ports[next++ % ports.length];
      const upstream = net.connect(port, "127.0.0.1");
      let connected = false;
      upstream.once("connect", () => {
        connected = true;
        served.set(port, served.get(port) + 1);
        open.set(port, open.get(port) + 1);
        upstream.once("close", () => open.set(port, open.get(port) - 1));
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
      });
      upstream.on("error", () => (connected ? client.destroy() : attempt(tries + 1)));
      upstream.on("close", () => connected && client.destroy());
      client.on("close", () => upstream.destroy());
    };
    attempt(0);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}`, served, open, close: () => new Promise((r) => server.close(r)) };
}

async function json(url, token) {
  const r = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, `${url}: HTTP ${r.status}`);
  return r.json();
}

/** Sum of a counter over the relays' /metrics. */
async function counter(relays, name) {
  let sum = 0;
  for (const relay of relays) {
    const text = await (await fetch(`${relay.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS}` } })).text();
    const line = text.split("\n").find((l) => l.startsWith(name + " "));
    sum += Number(line?.split(" ")[1] ?? 0);
  }
  return sum;
}

test("three relays behind a balancer: one is killed mid-load, nothing acknowledged is lost", { timeout: 300_000 }, async () => {
  assert.ok(database, "needs CLOSELOOP_TEST_POSTGRES (cargo xtask test starts a PostgreSQL cluster)");
  const extraArgs = [
    "--contact-key-file",
    sharedContactKey(),
    "--escalation-seconds",
    "1",
    "--metrics-token",
    METRICS,
  ];
  const ports = [await freePort(), await freePort(), await freePort()];
  const dirs = ports.map(() => tempDir("closeloop-relay-"));
  const relays = [];
  for (let i = 0; i < 3; i++) relays.push(await startServer(dirs[i], ports[i], { database, extraArgs }));
  const lb = await balancer(ports);
  const browser = await launchBrowser();
  try {
    const tablets = [];
    for (const user of ["field-north", "field-south"]) {
      const page = await (await browser.newContext({ viewport: { width: 800, height: 1280 } })).newPage();
      await signInTablet(page, lb.url, user);
      tablets.push(page);
    }
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, lb.url, "office");
    // The database may hold other tests' records: head office searches for these.
    await office.goto(lb.url + "/office?q=" + encodeURIComponent("三中继"));

    // The tablets capture; a relay is killed after round 2 and back after round 4.
    const expected = [];
    let victim = 0;
    let cut = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [n, tablet] of tablets.entries()) {
        const nickname = `三中继${n === 0 ? "北" : "南"}${round}`;
        const description = `三中继第 ${round} 轮：平板 ${n + 1} 记录的反馈。`;
        await tablet.selectOption('[data-testid="channel"]', "store_box");
        await tablet.fill('[data-testid="nickname"]', nickname);
        await tablet.fill('[data-testid="description"]', description);
        if (round === 1 && n === 0) {
          await tablet.setInputFiles('[data-testid="attach-files"]', [{ name: "receipt.png", mimeType: "image/png", buffer: PNG }]);
          await tablet.waitForSelector('[data-testid="attachment-picker"] [data-testid="attachment"]');
        }
        await tablet.click('[data-testid="save"]');
        await tablet.waitForSelector('[data-testid="form-message"].ok');
        expected.push(`${nickname} | ${description}`);
      }
      if (round === 2) {
        // The relay holding the most open connections (sync sockets, push streams).
        victim = ports.indexOf([...lb.open.entries()].sort((a, b) => b[1] - a[1])[0][0]);
        cut = lb.open.get(ports[victim]);
        await relays[victim].kill();
      }
      if (round === 4) relays[victim] = await startServer(dirs[victim], ports[victim], { database, extraArgs });
    }

    // Each tablet is in step: the relays acknowledged all it holds.
    for (const tablet of tablets) {
      await tablet.click('[data-testid="sync-now"]').catch(() => {});
      await tablet.waitForSelector('[data-testid="in-step"]', { timeout: 60_000 });
      await tablet.waitForSelector('[data-testid="files-waiting"]', { state: "detached", timeout: 60_000 });
    }
    // Head office, through the balancer, converges on all of them.
    await waitForInbox(office, expected.sort(), 60_000);
    await office.screenshot({ path: `${SCREENSHOTS}/scale-out-three-relays.png`, fullPage: true });

    // Every relay answers with every record and serves the photo.
    const sha = createHash("sha256").update(PNG).digest("hex");
    for (const relay of relays) {
      const token = await tokenFor(relay.url, "office");
      const list = await json(`${relay.url}/api/records?q=${encodeURIComponent("三中继")}`, token);
      assert.equal(list.total, expected.length, `${relay.url} has ${list.total} of ${expected.length}`);
      const photo = await fetch(`${relay.url}/api/attachments/${sha}`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(photo.status, 200, `${relay.url}: the photo`);
      assert.deepEqual(Buffer.from(await photo.arrayBuffer()), PNG);
    }

    // An overdue record: escalated once although three relays run the job.
    await registerOverdue(office, lb.url, { nickname: "三中继郑女士", description: "三台中继时只升级一次。" });
    const supervisor = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(supervisor, lb.url, "supervisor");
    await supervisor.goto(lb.url + "/office");
    await supervisor.waitForSelector('.bell-count[data-unread="1"]', { timeout: 30_000 });
    // Three more runs of the job, wherever they ran: still one notification.
    const runs = await counter(relays, "closeloop_escalation_runs_total");
    const deadline = Date.now() + 30_000;
    while ((await counter(relays, "closeloop_escalation_runs_total")) < runs + 3) {
      assert.ok(Date.now() < deadline, "the escalation job stopped running");
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const relay of relays) {
      const bell = await json(`${relay.url}/api/notifications`, await tokenFor(relay.url, "supervisor"));
      assert.equal(bell.unread, 1, `${relay.url}: ${JSON.stringify(bell)}`);
    }
    console.log(`# connections per relay: ${[...lb.served.values()].join(", ")}; ${cut} open ones cut by the kill`);
    assert.ok(cut > 0, "the killed relay was serving clients");
    for (const n of lb.served.values()) assert.ok(n > 0, "the balancer used every relay");
  } finally {
    await browser.close();
    await lb.close();
    for (const relay of relays) await relay.stop();
  }
});
