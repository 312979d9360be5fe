// Two tablets change the same record while offline: the capturer and the
// colleague it is assigned to (whose tablet receives it without asking)
// each set its nature. Once both are back, the
// relay keeps both values; head office sees a conflict badge in the inbox
// and, on the record, each competing value with who and when; choosing one
// settles it everywhere, and both tablets converge on it.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SCREENSHOTS,
  capture,
  freePort,
  launchBrowser,
  signIn,
  startServer,
  tempDir,
  waitForInbox,
  waitForRecords,
} from "./support.mjs";

const RECORD = { channel: "store_box", nickname: "钱先生", description: "会员积分两个月没有到账。" };

/** Opens the record page and waits until its document is shown. */
async function openRecord(page, url, id) {
  await page.goto(`${url}/office/records/${id}`);
  await page.waitForSelector("[data-record-loaded]");
}

/** Waits until the page shows `nature` as the record's only value. */
async function settledOn(page, nature) {
  await page.waitForFunction(
    (n) =>
      document.querySelector('select[data-field="nature"]')?.value === n &&
      document.querySelector('[data-testid="conflicts"]') === null,
    nature,
    { timeout: 20_000 },
  );
}

test("concurrent offline edits show as a conflict, are settled once and converge", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-conflict-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const contextA = await browser.newContext();
    const a = await contextA.newPage();
    await signIn(a, server.url, "field-north");
    await a.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    await capture(a, RECORD);

    // Head office registers it and assigns it to a colleague of the capturer.
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office");
    await waitForInbox(office, [`${RECORD.nickname} | ${RECORD.description}`]);
    const id = await office.getAttribute("#inbox tr[data-record-id]", "data-record-id");
    await openRecord(office, server.url, id);
    await office.click('[data-step="register"]');
    await office.waitForSelector('[data-step="assign"]');
    await office.fill('[data-testid="assign-owner"]', "field-north-2");
    await office.fill('[data-testid="assign-department"]', "会员中心");
    await office.click('[data-step="assign"]');
    await office.waitForSelector(".record-detail .status-pill >> text=已分派");

    // Both tablets hold the record, then lose the network (and the relay).
    const contextB = await browser.newContext();
    const b = await contextB.newPage();
    await signIn(b, server.url, "field-north-2");
    // Assigned work reaches the colleague's tablet without it asking.
    await waitForRecords(b, [`${RECORD.nickname} | ${RECORD.description}`]);
    for (const page of [a, b]) {
      await openRecord(page, server.url, id);
      await page.waitForSelector(".record-detail .status-pill >> text=已分派");
    }
    await server.stop();
    await contextA.setOffline(true);
    await contextB.setOffline(true);
    for (const page of [a, b]) await page.waitForSelector('[data-testid="sync-status"][data-status="offline"]');

    await a.selectOption('select[data-field="nature"]', "complaint");
    await a.waitForSelector('[data-testid="work-outcome"].ok');
    await b.selectOption('select[data-field="nature"]', "suggestion");
    await b.waitForSelector('[data-testid="work-outcome"].ok');

    server = await startServer(dataDir, port);
    await contextA.setOffline(false);
    await contextB.setOffline(false);
    for (const page of [a, b]) {
      await page.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });
    }

    // Head office: a badge in the inbox, both values with who and when.
    await office.goto(server.url + "/office");
    await office.waitForSelector("#inbox tr[data-record-id] .badge.conflict", { timeout: 20_000 });
    await office.screenshot({ path: `${SCREENSHOTS}/office-conflict-inbox.png` });
    await openRecord(office, server.url, id);
    await office.waitForSelector('[data-testid="conflicts"]');
    const shown = await office.textContent('[data-testid="conflicts"]');
    assert.match(shown, /性质[\s\S]*投诉 — field-north · \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    assert.match(shown, /建议 — field-north-2 · \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    await office.screenshot({ path: `${SCREENSHOTS}/office-conflict.png`, fullPage: true });

    await office.click('[data-testid="conflicts"] [data-settle="complaint"]');
    await settledOn(office, "complaint");
    await settledOn(a, "complaint");
    await settledOn(b, "complaint");

    // The inbox badge goes once the settlement is stored.
    await office.goto(server.url + "/office");
    await office.waitForSelector("#inbox tr[data-record-id]");
    await office.waitForFunction(() => document.querySelector("#inbox tr[data-record-id] .badge.conflict") === null);
  } finally {
    await browser.close();
    await server.stop();
  }
});
