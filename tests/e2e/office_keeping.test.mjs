// Record-keeping at head office: the customer file brings a customer's
// records together (same phone, or confirmed from a same-nickname
// suggestion) with important ones marked; a supervisor reads and filters
// the audit log and erases a customer, whose record lives on redacted; an
// administrator sets retention (never below three years).
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, signIn, startServer, tempDir } from "./support.mjs";

/** Registers a call at head office; the new record's id. */
async function register(page, url, { nickname, description, phone }) {
  await page.goto(url + "/office/new");
  await page.waitForSelector('[data-testid="register-form"]');
  await page.fill('[data-testid="reg-nickname"]', nickname);
  await page.fill('[data-testid="reg-description"]', description);
  if (phone) {
    await page.click('[data-testid="contact-section"] summary');
    await page.fill('[data-testid="contact-phone"]', phone);
  }
  await page.click('[data-testid="reg-save"]');
  await page.waitForSelector("[data-record-loaded]");
  return page.url().split("/").pop();
}

test("customer file, audit log, erasure and retention at head office", { timeout: 180_000 }, async () => {
  const server = await startServer(tempDir("closeloop-keeping-"), await freePort());
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    const first = await register(office, server.url, { nickname: "张女士", description: "冰箱不制冷，已报修两次", phone: "139 0000 1111" });
    await register(office, server.url, { nickname: "张姐", description: "上门师傅迟到一小时", phone: "+86 13900001111" });
    await register(office, server.url, { nickname: "张女士", description: "表扬门店店员耐心", phone: null });

    // The file of the first record: the same phone links the second; the
    // same nickname is only offered.
    await office.goto(`${server.url}/office/records/${first}`);
    await office.waitForSelector('[data-testid="customer-file"] [data-testid="file-entry"]');
    const links = async () =>
      (await office.$$eval('[data-testid="file-entry"]', (els) => els.map((e) => e.dataset.link))).sort();
    assert.deepEqual(await links(), ["contact", "this"]);
    assert.match(await office.textContent('[data-testid="file-candidates"]'), /表扬门店店员耐心/);
    await office.click('[data-testid="confirm-same"]');
    await office.waitForFunction(() => document.querySelectorAll('[data-testid="file-entry"]').length === 3);
    assert.deepEqual(await links(), ["confirmed", "contact", "this"]);
    assert.equal(await office.locator('[data-testid="file-candidates"]').count(), 0);
    // Marked important, with why.
    await office.locator('[data-testid="file-entry"][data-link="this"] [data-testid="mark-important"]').click();
    await office.fill('[data-testid="important-text"]', "重复报修，需主管回访");
    await office.click('[data-testid="important-save"]');
    await office.waitForSelector('[data-testid="important-note"]:has-text("重复报修，需主管回访")');
    await office.locator('[data-testid="customer-file"]').scrollIntoViewIfNeeded();
    await office.screenshot({ path: `${SCREENSHOTS}/office-customer-file.png`, fullPage: true });
    // Head office may not erase.
    assert.equal(await office.locator('[data-testid="erase-customer"]').count(), 0);

    // A supervisor: a failed sign-in of someone else, then the audit log.
    const bad = await fetch(server.url + "/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "field-south", password: "guess-1234567" }),
    });
    assert.equal(bad.status, 401);
    const supervisor = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(supervisor, server.url, "supervisor");
    await supervisor.goto(server.url + "/office");
    await supervisor.click('[data-testid="audit-link"]');
    await supervisor.waitForSelector('[data-testid="audit-log"] tr[data-action="login"]');
    await supervisor.selectOption("#a-action", "login_failed");
    await supervisor.waitForFunction(() =>
      [...document.querySelectorAll(".audit-table tbody tr")].every((r) => r.dataset.action === "login_failed"),
    );
    assert.match(await supervisor.textContent(".audit-table tbody"), /field-south/);
    assert.match(await supervisor.getAttribute('[data-testid="audit-export"]', "href"), /action=login_failed/);
    await supervisor.selectOption("#a-action", "");
    await supervisor.waitForSelector('tr[data-action="contact_created"]');
    await supervisor.screenshot({ path: `${SCREENSHOTS}/office-audit-log.png`, fullPage: true });

    // The customer asks to be forgotten.
    await supervisor.goto(`${server.url}/office/records/${first}`);
    await supervisor.waitForSelector("[data-record-loaded]");
    await supervisor.click('[data-testid="erase-customer"]');
    await supervisor.waitForSelector('[data-testid="erase-warning"]');
    await supervisor.screenshot({ path: `${SCREENSHOTS}/office-erase-warning.png`, fullPage: true });
    await supervisor.click('[data-testid="erase-confirm"]');
    await supervisor.waitForSelector('[data-testid="erase-done"]');
    assert.equal(await supervisor.locator('[data-testid="erased-record"]').count(), 3, "every record in the customer file");
    await supervisor.locator('[data-testid="erased-record"]').first().click();
    await supervisor.waitForSelector("[data-record-loaded]");
    assert.match(await supervisor.textContent(".record-detail h2"), /（已删除）/);
    assert.equal(await supervisor.locator('[data-testid="contact-none"]').count(), 1, "the link to the contact is gone");
    const old = await supervisor.evaluate(async (id) => (await fetch(`/api/records/${id}`)).status, first);
    assert.equal(old, 404, "the old record is gone");

    // Retention: never below three years.
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(admin, server.url, "admin");
    await admin.goto(server.url + "/admin/retention");
    await admin.waitForSelector("#r-keep");
    assert.equal(await admin.inputValue("#r-archive"), "30");
    assert.equal(await admin.inputValue("#r-keep"), "3");
    await admin.fill("#r-keep", "2");
    await admin.dispatchEvent("#r-keep", "change");
    await admin.click('[data-testid="retention-save"]');
    await admin.waitForSelector('[data-testid="retention-message"].problem');
    await admin.fill("#r-keep", "5");
    await admin.dispatchEvent("#r-keep", "change");
    await admin.selectOption("#r-end", "delete");
    await admin.click('[data-testid="retention-save"]');
    await admin.waitForSelector('[data-testid="retention-message"].ok');
    await admin.screenshot({ path: `${SCREENSHOTS}/admin-retention.png`, fullPage: true });
    await admin.reload();
    await admin.waitForSelector("#r-keep");
    assert.equal(await admin.inputValue("#r-keep"), "5");
    assert.equal(await admin.inputValue("#r-end"), "delete");

    // The archive view and its download (nothing archived yet).
    await supervisor.goto(server.url + "/office");
    await supervisor.click('button[data-view="archived"]');
    await supervisor.waitForSelector('[data-testid="archive-export"]');
    const zip = await supervisor.evaluate(async () => {
      const r = await fetch(document.querySelector('[data-testid="archive-export"]').getAttribute("href"));
      return [r.status, r.headers.get("content-type")];
    });
    assert.deepEqual(zip, [200, "application/zip"]);
  } finally {
    await browser.close();
    await server.stop();
  }
});
