// Offline capture on a tablet reaches head office, through the real server
// binary, real SQLite file, real IndexedDB and service worker in Chromium.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SCREENSHOTS,
  capture,
  freePort,
  launchBrowser,
  shownRecords,
  signIn,
  startServer,
  tempDir,
  waitForInbox,
  waitForRecords,
} from "./support.mjs";

const FIRST = { channel: "store_box", nickname: "赵女士", description: "试衣间灯光太暗，镜子有裂痕。" };
const SECOND = { channel: "phone", nickname: "会员 0451", description: "快递三天没有更新物流信息。" };
const line = (r) => `${r.nickname} | ${r.description}`;

test("offline captures reach head office and survive a relay restart", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-e2e-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const tablet = await browser.newContext();
    const a = await tablet.newPage();
    await signIn(a, server.url, "field-north");
    await a.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    // The service worker must control the page before the network goes away.
    await a.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });

    // Offline for real: the relay is stopped and the browser has no network.
    await server.stop();
    await tablet.setOffline(true);
    await a.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await capture(a, FIRST);
    await capture(a, SECOND);
    await waitForRecords(a, [line(FIRST), line(SECOND)]);

    await a.reload();
    await a.waitForSelector('[data-testid="capture-form"]');
    await waitForRecords(a, [line(FIRST), line(SECOND)]);
    await a.screenshot({ path: `${SCREENSHOTS}/field-offline.png`, fullPage: true });

    // Back online: the tablet reconnects by itself and syncs.
    server = await startServer(dataDir, port);
    await tablet.setOffline(false);
    await a.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });

    const office = await browser.newContext();
    const b = await office.newPage();
    await signIn(b, server.url, "office");
    await b.goto(server.url + "/office");
    const seen = await waitForInbox(b, [line(FIRST), line(SECOND)]);
    assert.deepEqual(seen, await shownRecords(a), "head office shows what the tablet captured");

    // A live edit on the tablet reaches head office while both are online.
    const edited = "快递三天没有更新物流信息，客服电话也打不通。";
    const docId = await a
      .locator('[data-testid="record"]', { hasText: SECOND.description })
      .getAttribute("data-doc-id");
    const item = a.locator(`[data-testid="record"][data-doc-id="${docId}"]`);
    await item.locator('[data-testid="edit"]').click();
    await item.locator('[data-testid="edit-description"]').fill(edited);
    const started = Date.now();
    await item.locator('[data-testid="save-edit"]').click();
    await waitForInbox(b, [line(FIRST), `${SECOND.nickname} | ${edited}`]);
    console.log(`# edit reached head office in ${Date.now() - started} ms`);
    await b.screenshot({ path: `${SCREENSHOTS}/office.png`, fullPage: true });

    // The relay restarts from its data directory; a fresh head-office page still sees both.
    await server.stop();
    server = await startServer(dataDir, port);
    const office2 = await browser.newContext();
    const c = await office2.newPage();
    await signIn(c, server.url, "office");
    await c.goto(server.url + "/office");
    await waitForInbox(c, [line(FIRST), `${SECOND.nickname} | ${edited}`]);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test("an invalid capture shows a clear error and saves nothing", { timeout: 60_000 }, async () => {
  const dataDir = tempDir("closeloop-e2e-");
  const server = await startServer(dataDir, await freePort());
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    // Not signed in: no form and no records, only the way to sign in.
    await page.goto(server.url + "/");
    await page.waitForSelector('[data-testid="sign-in-first"]');
    await page.waitForSelector('[data-testid="sync-status"][data-status="signed_out"]');
    assert.equal(await page.locator('[data-testid="capture-form"]').count(), 0);
    await signIn(page, server.url, "field-north");
    await page.waitForSelector('[data-testid="capture-form"]');
    await page.fill('[data-testid="description"]', "没有填写昵称的反馈");
    await page.click('[data-testid="save"]');
    const msg = page.locator('[data-testid="form-message"].problem');
    await msg.waitFor();
    assert.equal(await msg.textContent(), "请填写客户昵称或编号");
    assert.equal(await page.locator('[data-testid="record"]').count(), 0);
    assert.equal(await page.inputValue('[data-testid="description"]'), "没有填写昵称的反馈",
      "what the user typed is kept");
    await page.screenshot({ path: `${SCREENSHOTS}/field-error.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
});
