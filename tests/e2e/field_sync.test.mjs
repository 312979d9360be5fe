// Sync you can see on the tablet: what waits for the server, when the
// device was last in step, and "sync now" that does not wait for the next
// timed retry once the network is back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, capture, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir } from "./support.mjs";

test("the tablet shows what waits, when it last synced, and syncs now on request", { timeout: 120_000 }, async () => {
  const dataDir = tempDir("closeloop-sync-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 1280 } });
    const tablet = await context.newPage();
    await signInTablet(tablet, server.url, "field-north");
    await capture(tablet, { channel: "store_box", nickname: "吴先生", description: "收银台排队太久" });
    // Acknowledged by the relay: nothing waits, and the time is noted.
    await tablet.waitForSelector('[data-testid="in-step"]');
    const first = Number(await tablet.getAttribute('[data-testid="last-synced"]', "data-at"));
    assert.ok(first > 0, "the last sync is noted");

    // Offline: a capture waits, and says so.
    await server.stop();
    await context.setOffline(true);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await capture(tablet, { channel: "store_box", nickname: "郑女士", description: "试衣间太少" });
    await tablet.waitForSelector('[data-testid="records-waiting"][data-count="1"]');
    assert.equal(await tablet.locator('[data-testid="in-step"]').count(), 0);
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-sync-waiting.png`, fullPage: true });

    // Back online: "sync now" connects without waiting for the retry, and
    // the waiting record reaches the server.
    server = await startServer(dataDir, port);
    await context.setOffline(false);
    await tablet.click('[data-testid="sync-now"]');
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });
    await tablet.waitForSelector('[data-testid="in-step"]', { timeout: 30_000 });
    const second = Number(await tablet.getAttribute('[data-testid="last-synced"]', "data-at"));
    assert.ok(second > first, "the last sync moved on");

    // My work: searched and filtered on the device, each with its status.
    await tablet.fill('[data-testid="records-search"]', "试衣间");
    await tablet.waitForFunction(() => document.querySelectorAll('[data-testid="record"]').length === 1);
    assert.equal(await tablet.textContent('[data-testid="record-nickname"]'), "郑女士");
    assert.equal(await tablet.textContent('[data-testid="record-status"]'), "新登记");
    await tablet.fill('[data-testid="records-search"]', "");
    await tablet.click('button[data-scope="assigned"]');
    await tablet.waitForFunction(() => document.querySelectorAll('[data-testid="record"]').length === 0);
    await tablet.click('button[data-scope="captured"]');
    await tablet.waitForFunction(() => document.querySelectorAll('[data-testid="record"]').length === 2);
    const office = await (await browser.newContext()).newPage();
    await signIn(office, server.url, "office");
    const listed = await office.evaluate(async () => (await fetch("/api/records?q=试衣间")).json());
    assert.equal(listed.total, 1, "the offline capture is on the server");

    // Head office sets a priority: the tablet shows when the running SLA
    // clock falls due, on the policy it read from the server.
    await office.goto(`${server.url}/office/records/${listed.records[0].id}`);
    await office.waitForSelector("[data-record-loaded]");
    await office.click('input[name="priority"][value="P1"]');
    await tablet.click('button[data-scope="all"]');
    await tablet.fill('[data-testid="records-search"]', "试衣间");
    await tablet.waitForSelector('[data-testid="record-due"]', { timeout: 20_000 });
    assert.match(await tablet.textContent('[data-testid="record-due"]'), /^到期 \d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
    const kept = await tablet.evaluate(() => localStorage.getItem("closeloop.sla"));
    assert.ok(kept && JSON.parse(kept).policy, "the policy is kept for offline use");

    // Work assigned at head office reaches its owner's tablet unasked: a
    // record of the other team, registered and assigned to field-north.
    const south = await (await browser.newContext()).newPage();
    await signIn(south, server.url, "field-south");
    await capture(south, { channel: "store_box", nickname: "钱先生", description: "南区门店的停车券没有发放" });
    await south.waitForSelector('[data-testid="in-step"]', { timeout: 30_000 });
    const found = await office.evaluate(async () => (await fetch("/api/records?q=停车券")).json());
    await office.goto(`${server.url}/office/records/${found.records[0].id}`);
    await office.waitForSelector("[data-record-loaded]");
    const step = async (selector) => {
      const seq = () => office.evaluate(() => Number(document.querySelector('[data-testid="work-outcome"]')?.dataset.seq ?? 0));
      const before = await seq();
      await office.click(selector);
      await office.waitForFunction((n) => Number(document.querySelector('[data-testid="work-outcome"]')?.dataset.seq ?? 0) > n, before);
    };
    await office.selectOption('select[data-field="nature"]', "complaint");
    await office.waitForSelector('[data-testid="work-outcome"].ok');
    await office.selectOption('select[data-field="feedbackType"]', { index: 1 });
    await step('[data-step="register"]');
    await office.fill('[data-testid="assign-owner"]', "field-north");
    await office.fill('[data-testid="assign-department"]', "store_ops");
    await step('[data-step="assign"]');
    await tablet.fill('[data-testid="records-search"]', "");
    await tablet.click('button[data-scope="assigned"]');
    await tablet.waitForSelector('[data-testid="record"]:has-text("停车券") [data-testid="assigned-to-me"]', { timeout: 30_000 });
    assert.equal(await tablet.locator('[data-testid="record"]').count(), 1, "only the assigned record is under 'assigned to me'");
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-assigned-to-me.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
});
