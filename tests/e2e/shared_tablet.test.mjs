// One tablet, several users (issue 13 §6): each user's local data is a
// database of its own, opened only while they are signed in; signing out
// warns about what the server does not have yet, then deletes it; with
// nobody signed in no records are listed. A session an administrator
// revoked wipes the tablet at its next contact. A customer erased at head
// office leaves the tablet too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PASSWORD, PNG, SCREENSHOTS, capture, dumpStorage, freePort, launchBrowser, signIn, startServer, tempDir, tokenFor, waitForRecords } from "./support.mjs";

/** Names of the IndexedDB databases of the page's origin. */
function databases(page) {
  return page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name).sort());
}

/** Waits until everything captured on the page has reached the relay. */
async function synced(page) {
  await page.waitForSelector('[data-testid="sync-status"][data-status="online"][data-unsynced="0"]', { timeout: 30_000 });
}

test("two users on one tablet see only their own records, and signing out warns about unsynced ones", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-tablet-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const tablet = await browser.newContext({ viewport: { width: 800, height: 1280 } });
    const page = await tablet.newPage();

    // Nobody signed in: no records, and the way to sign in.
    await page.goto(server.url + "/");
    await page.waitForSelector('[data-testid="sign-in-first"]');
    assert.equal(await page.locator('[data-testid="record"]').count(), 0);
    assert.equal(await page.locator('[data-testid="capture-form"]').count(), 0);
    await page.screenshot({ path: `${SCREENSHOTS}/field-signed-out.png`, fullPage: true });

    // field-north captures one record online, then one offline.
    await signIn(page, server.url, "field-north");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
    await capture(page, { channel: "store_box", nickname: "北一", description: "已同步的记录" });
    await synced(page);
    // Offline (an open socket outlives setOffline: the relay goes too).
    await server.stop();
    await tablet.setOffline(true);
    await page.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await capture(page, { channel: "store_box", nickname: "北一草稿", description: "只在本机的记录" });
    await page.waitForSelector('[data-testid="sync-status"][data-unsynced="1"]');
    assert.ok((await databases(page)).includes("closeloop-u-field-north"));

    // Signing out warns with the count; cancelling keeps everything.
    await page.click('[data-testid="sign-out"]');
    await page.waitForSelector('[data-testid="sign-out-warning"]');
    assert.equal(await page.getAttribute('[data-testid="unsynced-records"]', "data-count"), "1");
    assert.match(await page.textContent('[data-testid="sign-out-warning"]'), /1\s*条记录的修改尚未同步/);
    await page.screenshot({ path: `${SCREENSHOTS}/field-sign-out-warning.png`, fullPage: true });
    await page.click('[data-testid="sign-out-cancel"]');
    await page.waitForSelector('[data-testid="sign-out-warning"]', { state: "detached" });
    await waitForRecords(page, ["北一 | 已同步的记录", "北一草稿 | 只在本机的记录"]);
    assert.ok((await databases(page)).includes("closeloop-u-field-north"));

    // Signing out anyway (still offline) deletes field-north's data.
    await page.click('[data-testid="sign-out"]');
    await page.click('[data-testid="sign-out-anyway"]');
    await page.waitForSelector('[data-testid="login-form"]');
    assert.ok(!(await databases(page)).includes("closeloop-u-field-north"), "field-north's database is gone");

    // field-north-2 (same team) sees none of it: the relay sends a tablet
    // only what it asks for, and the draft never left the tablet.
    server = await startServer(dataDir, port);
    await tablet.setOffline(false);
    await signIn(page, server.url, "field-north-2");
    await page.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    await waitForRecords(page, []);
    await capture(page, { channel: "store_box", nickname: "北二", description: "第二位用户的记录" });
    await synced(page);
    await waitForRecords(page, ["北二 | 第二位用户的记录"]);
    const dbs = await databases(page);
    assert.ok(dbs.includes("closeloop-u-field-north-2"), JSON.stringify(dbs));
    assert.ok(!dbs.includes("closeloop-u-field-north"), JSON.stringify(dbs));
    assert.ok(!(await dumpStorage(page)).includes("只在本机的记录"), "user 1's draft is nowhere");

    // Nothing unsynced: signing out needs no warning; then nobody's records show.
    await page.click('[data-testid="sign-out"]');
    await page.waitForSelector('[data-testid="login-form"]');
    assert.equal(await page.locator('[data-testid="sign-out-warning"]').count(), 0);
    await page.goto(server.url + "/");
    await page.waitForSelector('[data-testid="sign-in-first"]');
    assert.equal(await page.locator('[data-testid="record"]').count(), 0);
    assert.deepEqual(await databases(page), []);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test("a session an administrator revoked wipes the tablet at its next contact", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-revoked-"), await freePort());
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, server.url, "field-north");
    await capture(page, { channel: "store_box", nickname: "北三", description: "将被撤销的会话" });
    await synced(page);
    const admin = await tokenFor(server.url, "admin");
    const r = await fetch(`${server.url}/api/admin/users/field-north/revoke-sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(r.status, 200);
    // The relay closes the socket; the tablet asks why and is told.
    await page.waitForSelector('[data-testid="revoked"]', { timeout: 20_000 });
    assert.match(await page.textContent('[data-testid="revoked"]'), /管理员已结束你的登录/);
    assert.deepEqual(await databases(page), []);
    assert.equal(await page.evaluate(() => localStorage.getItem("closeloop.user")), null);
    // Signing in again works, with nothing left of before.
    await signIn(page, server.url, "field-north");
    await waitForRecords(page, []);
    assert.ok(PASSWORD);
  } finally {
    await browser.close();
    await server.stop();
  }
});

test("a customer erased at head office leaves the tablet's storage", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-tablet-erase-"), await freePort());
  const browser = await launchBrowser();
  const NICK = "韩梅梅妈妈";
  const PHONE = "13987654321";
  try {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, server.url, "field-north");
    await page.selectOption('[data-testid="channel"]', "store_box");
    await page.fill('[data-testid="nickname"]', NICK);
    await page.fill('[data-testid="description"]', "洗衣机漏水");
    await page.click('[data-testid="contact-section"] summary');
    await page.fill('[data-testid="contact-phone"]', PHONE);
    // A photo, which may show the customer.
    await page.setInputFiles('[data-testid="attach-files"]', [{ name: "machine.png", mimeType: "image/png", buffer: PNG }]);
    await page.waitForSelector('[data-testid="attachment-picker"] [data-testid="attachment"]');
    await page.click('[data-testid="save"]');
    await page.waitForSelector('[data-testid="form-message"].ok');
    await page.waitForSelector('[data-testid="contacts-waiting"][data-count="0"]', { timeout: 30_000 });
    await synced(page);
    await page.waitForSelector('[data-testid="in-step"]', { timeout: 30_000 });
    assert.ok((await dumpStorage(page)).includes(`[blob ${PNG.length}]`), "the photo is kept on the tablet");
    const old = await page.getAttribute('[data-testid="record"]', "data-doc-id");
    assert.ok((await dumpStorage(page)).includes(NICK), "the nickname is in the record's chunks");

    const supervisor = await tokenFor(server.url, "supervisor");
    const auth = { authorization: `Bearer ${supervisor}` };
    const contact = await (await fetch(`${server.url}/api/records/${old}/contact`, { headers: auth })).json();
    const erased = await fetch(`${server.url}/api/contacts/${contact.contact_ref}/erase`, { method: "POST", headers: auth });
    assert.equal(erased.status, 200, await erased.text());

    // The relay stops offering the old record; the tablet reads the
    // tombstones, deletes it and fetches the redacted copy.
    await page.waitForSelector(`[data-testid="record"][data-doc-id="${old}"]`, { state: "detached", timeout: 20_000 });
    await page.waitForSelector('[data-testid="record"]', { timeout: 20_000 });
    const stored = await dumpStorage(page);
    for (const secret of [NICK, PHONE, old, "[blob "]) {
      assert.ok(!stored.includes(secret), `the tablet's storage still holds ${secret}`);
    }
    // A reload does not bring it back.
    await page.reload();
    await page.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    await page.waitForSelector('[data-testid="record"]');
    assert.equal(await page.locator(`[data-testid="record"][data-doc-id="${old}"]`).count(), 0);
    assert.ok(!(await dumpStorage(page)).includes(NICK));
  } finally {
    await browser.close();
    await server.stop();
  }
});
