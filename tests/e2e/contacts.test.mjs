// A customer's contact details never enter a record's history nor the
// browser's storage in the clear (S002 §8): a tablet captures them offline
// (the phone moved out of the description by "Move to contact"), keeps
// them sealed in IndexedDB, uploads them once online; head office sees
// them only on asking, and the record itself never holds them. Head office
// registers a call with a contact moved out of its description the same way.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, dumpStorage, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir, waitForInbox } from "./support.mjs";

const PHONE = "13912345678";
const EMAIL = "zhou.wei@example.com";
const NAME = "周伟";

/** Asserts that none of the customer's details appear in `text`. */
function assertNoContact(text, where) {
  for (const secret of [PHONE, "139 1234-5678", EMAIL, NAME]) {
    assert.ok(!text.includes(secret), `${where} holds ${secret}`);
  }
}

test("contact details captured offline reach the contact store and never the record or the browser's storage", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-contacts-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    // A 10-inch tablet in portrait.
    const tabletContext = await browser.newContext({ viewport: { width: 800, height: 1280 } });
    const tablet = await tabletContext.newPage();
    await signInTablet(tablet, server.url, "field-north");
    await server.stop();
    await tabletContext.setOffline(true);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="offline"]');

    // The phone typed into the description moves to the contact section.
    await tablet.selectOption('[data-testid="channel"]', "store_box");
    await tablet.fill('[data-testid="nickname"]', "周先生");
    await tablet.fill('[data-testid="description"]', "冰箱门关不严，请回电 139 1234-5678");
    await tablet.waitForSelector('[data-testid="pii-warning"]');
    await tablet.click('[data-testid="move-to-contact"]');
    assert.equal(await tablet.inputValue('[data-testid="description"]'), "冰箱门关不严，请回电");
    assert.equal(await tablet.inputValue('[data-testid="contact-phone"]'), "139 1234-5678");
    await tablet.waitForSelector('[data-testid="pii-warning"]', { state: "detached" });
    assert.ok(await tablet.getAttribute('[data-testid="contact-section"]', "open") !== null, "the section opened");

    // A bad email is marked as the user leaves the field and blocks saving.
    await tablet.fill('[data-testid="contact-email"]', "zhou.wei@");
    await tablet.fill('[data-testid="contact-name"]', NAME);
    await tablet.waitForSelector('[data-testid="contact-email"].invalid');
    assert.equal(await tablet.textContent('[data-testid="contact-email-error"]'), "邮箱地址格式不正确");
    await tablet.click('[data-testid="save"]');
    await tablet.waitForSelector('[data-testid="form-message"].problem');
    assert.match(await tablet.textContent('[data-testid="form-message"]'), /联系方式有误.*邮箱地址格式不正确/);
    assert.equal(await tablet.textContent('[data-testid="record-count"]'), "0", "nothing saved");
    assert.equal(await tablet.inputValue('[data-testid="description"]'), "冰箱门关不严，请回电", "the text is kept");

    await tablet.fill('[data-testid="contact-email"]', EMAIL);
    await tablet.waitForSelector('[data-testid="contact-email"]:not(.invalid)');
    await tablet.check('[data-testid="consent-follow_up"]');
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-contact.png`, fullPage: true });
    await tablet.click('[data-testid="save"]');
    await tablet.waitForSelector('[data-testid="form-message"].ok');
    await tablet.waitForSelector('[data-testid="contacts-waiting"][data-count="1"]');
    assert.equal(await tablet.inputValue('[data-testid="contact-phone"]'), "", "the section is emptied");

    // Nothing the browser stores holds the details in the clear.
    const stored = await dumpStorage(tablet);
    const outbox = stored.split("\n== ").find((s) => s.startsWith("closeloop-u-field-north/contact_outbox")) ?? "";
    assert.ok(/ct-[0-9a-f]{32}/.test(outbox) && outbox.includes("ciphertext"), "the sealed entry is there");
    assert.match(stored, /CryptoKey secret AES-GCM extractable=false/);
    assert.ok(stored.includes("冰箱门关不严"), "record chunks are read as text too");
    assertNoContact(stored, "the tablet's storage");
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-contact-waiting.png`, fullPage: true });

    // Online again: the outbox empties.
    server = await startServer(dataDir, port);
    await tabletContext.setOffline(false);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });
    await tablet.waitForSelector('[data-testid="contacts-waiting"][data-count="0"]', { timeout: 30_000 });
    assert.equal(await tablet.locator('[data-testid="contacts-failed"]').count(), 0);
    assertNoContact(await dumpStorage(tablet), "the tablet's storage after the upload");

    // Head office sees the details only on asking.
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office");
    await waitForInbox(office, ["周先生 | 冰箱门关不严，请回电"]);
    await office.click("#inbox a.open-record");
    await office.waitForSelector("[data-record-loaded]");
    const id = office.url().split("/").pop();
    assert.match(await office.textContent('[data-testid="contact-panel"]'), /审计日志/);
    assert.equal(await office.locator('[data-testid="contact-view"]').count(), 0, "not fetched unasked");
    await office.click('[data-testid="show-contact"]');
    await office.waitForSelector('[data-testid="contact-view"]');
    assert.equal(await office.textContent('[data-field="phone"]'), PHONE);
    assert.equal(await office.textContent('[data-field="email"]'), EMAIL);
    assert.equal(await office.textContent('[data-field="name"]'), NAME);
    assert.match(await office.textContent('[data-purpose="follow_up"]'), /就此反馈回访联系 · \d{4}-\d{2}-\d{2} \d{2}:\d{2} · field-north/);
    assert.equal(await office.locator('[data-purpose="survey"]').count(), 0);
    await office.screenshot({ path: `${SCREENSHOTS}/office-contact.png`, fullPage: true });

    // The record, as the server and head office's browser hold it, has only the reference.
    const record = await office.evaluate(async (id) => (await fetch(`/api/records/${id}`)).text(), id);
    assert.ok(record.includes("冰箱门关不严"), record);
    assertNoContact(record, "GET /api/records/{id}");
    const officeStored = await dumpStorage(office);
    assert.ok(officeStored.includes("冰箱门关不严"), "head office holds the record's document");
    assertNoContact(officeStored, "head office's storage");

    // A colleague on the same team who does not own it may not see them.
    const colleague = await (await browser.newContext()).newPage();
    await signIn(colleague, server.url, "field-north-2");
    await colleague.goto(`${server.url}/office/records/${id}`);
    await colleague.waitForSelector("[data-record-loaded]");
    await colleague.click('[data-testid="show-contact"]');
    assert.equal(await colleague.textContent('[data-testid="contact-problem"]'), "你的角色不能查看此客户的联系方式");
  } finally {
    await browser.close();
    await server.stop();
  }
});

test("head office moves a caller's number out of the description into the contact store", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-contacts-reg-"), await freePort());
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office/new");
    await office.waitForSelector('[data-testid="register-form"]');
    await office.fill('[data-testid="reg-nickname"]', "钱女士");
    await office.fill(
      '[data-testid="reg-description"]',
      "来电反映快递三天未送达，联系电话 138-0013-8000，身份证 11010519491231002X",
    );
    await office.click('[data-testid="move-to-contact"]');
    assert.equal(await office.inputValue('[data-testid="reg-description"]'), "来电反映快递三天未送达，联系电话，身份证");
    assert.equal(await office.inputValue('[data-testid="contact-phone"]'), "138-0013-8000");
    assert.equal(await office.inputValue('[data-testid="contact-email"]'), "");
    await office.check('[data-testid="consent-survey"]');
    await office.click('[data-testid="reg-save"]');
    await office.waitForSelector("[data-record-loaded]");
    await office.click('[data-testid="show-contact"]');
    await office.waitForSelector('[data-testid="contact-view"]');
    assert.equal(await office.textContent('[data-field="phone"]'), "13800138000");
    await office.waitForSelector('[data-purpose="survey"]');
    // In English too.
    await office.click('[data-testid="lang"]');
    await office.waitForSelector('[data-testid="contact-panel"] >> text=Customer contact');
    assert.match(await office.textContent('[data-purpose="survey"]'), /receive satisfaction surveys/);
    const id = office.url().split("/").pop();
    const record = await office.evaluate(async (id) => (await fetch(`/api/records/${id}`)).text(), id);
    assert.ok(!record.includes("13800138000") && !record.includes("0013"), record);
    assert.ok(!record.includes("11010519491231002X"), record);
  } finally {
    await browser.close();
    await server.stop();
  }
});
