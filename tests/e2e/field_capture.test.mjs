// The tablet's capture form (issue 14): every field field staff fill,
// checked inline in the user's language (invalid input is marked and never
// saved), the classification reaching head office as entered, and a draft
// that survives the page being closed mid-typing while offline.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir, waitForInbox } from "./support.mjs";

/** A datetime-local value `offsetMs` from now in the page's local time, and its moment. */
function localMinute(page, offsetMs) {
  return page.evaluate((offset) => {
    const d = new Date(Date.now() + offset);
    d.setSeconds(0, 0);
    const p = (n) => String(n).padStart(2, "0");
    const value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    return { value, ms: d.getTime() };
  }, offsetMs);
}

const draftKey = "closeloop.u.field-north.capture_draft";

test("the capture form checks inline, keeps drafts offline and saves every field", { timeout: 240_000 }, async () => {
  const dataDir = tempDir("closeloop-capture-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    // A 10-inch tablet in portrait.
    const context = await browser.newContext({ viewport: { width: 800, height: 1280 } });
    let tablet = await context.newPage();
    await signInTablet(tablet, server.url, "field-north");

    // Invalid input: marked where it is, in the user's language, and nothing saved.
    const future = await localMinute(tablet, 2 * 86_400_000);
    await tablet.fill('[data-testid="nickname"]', "王先生");
    await tablet.fill('[data-testid="received"]', future.value);
    await tablet.click('[data-testid="save"]');
    await tablet.waitForSelector('[data-testid="form-message"].problem');
    assert.equal(await tablet.textContent('[data-testid="form-message"]'), "有内容需要修改，尚未保存");
    await tablet.waitForSelector('[data-testid="description"].invalid[aria-invalid="true"]');
    assert.equal(await tablet.textContent('[data-testid="description-problem"]'), "请填写反馈内容");
    await tablet.waitForSelector('[data-testid="received"].invalid[aria-invalid="true"]');
    assert.equal(await tablet.textContent('[data-testid="received-problem"]'), "接收时间不能晚于现在");
    assert.equal(await tablet.getAttribute('[data-testid="nickname"]', "aria-invalid"), "false");
    assert.equal(await tablet.textContent('[data-testid="record-count"]'), "0", "nothing saved");
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-capture-invalid.png`, fullPage: true });
    // Put right, the marks go as the user types.
    await tablet.fill('[data-testid="description"]', "x");
    await tablet.waitForSelector('[data-testid="description"]:not(.invalid)');
    await tablet.fill('[data-testid="description"]', "");
    await tablet.waitForSelector('[data-testid="description"].invalid');

    // Offline for real; a draft typed then survives closing the page.
    await server.stop();
    await context.setOffline(true);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await tablet.selectOption('[data-testid="channel"]', "store_box");
    await tablet.fill('[data-testid="nickname"]', "会员 8812");
    await tablet.fill('[data-testid="description"]', "试衣间排队太久，没有叫号");
    await tablet.selectOption('[data-testid="urgency"]', "important");
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="saved"]');
    await tablet.close();
    tablet = await context.newPage();
    await tablet.goto(server.url + "/");
    await tablet.waitForSelector('[data-testid="capture-form"]');
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="restored"]');
    assert.equal(await tablet.inputValue('[data-testid="nickname"]'), "会员 8812");
    assert.equal(await tablet.inputValue('[data-testid="description"]'), "试衣间排队太久，没有叫号");
    assert.equal(await tablet.inputValue('[data-testid="channel"]'), "store_box");
    assert.equal(await tablet.inputValue('[data-testid="urgency"]'), "important");
    assert.equal(await tablet.inputValue('[data-testid="received"]'), future.value, "the changed time is kept too");
    // Discarding empties the form and the stored draft.
    await tablet.click('[data-testid="discard-draft"]');
    assert.equal(await tablet.inputValue('[data-testid="nickname"]'), "");
    assert.equal(await tablet.inputValue('[data-testid="description"]'), "");
    assert.equal(await tablet.inputValue('[data-testid="urgency"]'), "");
    assert.equal(await tablet.evaluate((k) => localStorage.getItem(k), draftKey), null);
    await tablet.reload();
    await tablet.waitForSelector('[data-testid="capture-form"]');
    assert.equal(await tablet.inputValue('[data-testid="nickname"]'), "");
    assert.equal(await tablet.locator('[data-testid="discard-draft"]').count(), 0);

    // Every field, offline: a suggestion-box slip read two hours later.
    const slip = await localMinute(tablet, -2 * 3_600_000);
    await tablet.selectOption('[data-testid="channel"]', "store_box");
    await tablet.selectOption('[data-testid="source"]', "partner");
    await tablet.fill('[data-testid="nickname"]', "李女士");
    await tablet.fill('[data-testid="description"]', "活动现场的冰箱样机门封条脱落，店员态度冷淡。");
    await tablet.fill('[data-testid="received"]', slip.value);
    await tablet.fill('[data-testid="order"]', "SO-2026-00042");
    await tablet.check('[data-testid="at-event"]');
    await tablet.selectOption('[data-testid="event-category"]', "product_service");
    await tablet.selectOption('[data-testid="type"]', "product_quality");
    await tablet.selectOption('[data-testid="nature"]', "complaint");
    await tablet.selectOption('[data-testid="complaint-kind"]', "service_attitude");
    await tablet.selectOption('[data-testid="urgency"]', "urgent");
    await tablet.selectOption('[data-testid="impact"]', "several");
    await tablet.check('[data-testid="aspect"][value="product.quality"]');
    await tablet.check('[data-testid="aspect"][value="service.attitude"]');
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="saved"]');
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-capture.png`, fullPage: true });
    await tablet.click('[data-testid="save"]');
    await tablet.waitForSelector('[data-testid="form-message"].ok');
    assert.equal(await tablet.textContent('[data-testid="record-count"]'), "1");
    assert.equal(await tablet.inputValue('[data-testid="nickname"]'), "", "the form is emptied");
    assert.equal(await tablet.inputValue('[data-testid="channel"]'), "store_box", "the channel stays");
    assert.equal(await tablet.evaluate((k) => localStorage.getItem(k), draftKey), null, "the draft is gone");

    // Online: head office sees the record as it was entered.
    server = await startServer(dataDir, port);
    await context.setOffline(false);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office");
    await waitForInbox(office, ["李女士 | 活动现场的冰箱样机门封条脱落，店员态度冷淡。"], 30_000);
    await office.click("#inbox a.open-record");
    await office.waitForSelector("[data-record-loaded]");
    const id = office.url().split("/").pop();
    const record = await office.evaluate(async (id) => (await fetch(`/api/records/${id}`)).json(), id);
    assert.equal(record.channel, "store_box");
    assert.equal(record.customer, "李女士");
    assert.equal(record.feedback_type, "product_quality");
    assert.equal(record.nature, "complaint");
    assert.equal(record.received_at, slip.ms, "the slip's real time");
    const work = '[data-testid="work"]';
    await office.waitForSelector(work);
    assert.equal(await office.inputValue(`${work} select[data-field="urgency"]`), "urgent");
    assert.equal(await office.inputValue(`${work} select[data-field="impact"]`), "several");
    assert.equal(await office.inputValue(`${work} select[data-field="complaintKind"]`), "service_attitude");
    assert.match(await office.textContent(".record-detail"), /SO-2026-00042/);

    // A draft belongs to its user: signing out wipes it, the next user starts empty.
    await tablet.fill('[data-testid="nickname"]', "草稿里的客户");
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="saved"]');
    assert.match(await tablet.evaluate((k) => localStorage.getItem(k), draftKey), /草稿里的客户/);
    await tablet.click('[data-testid="sign-out"]');
    const anyway = tablet.locator('[data-testid="sign-out-anyway"]');
    await Promise.race([
      tablet.waitForSelector('[data-testid="login-form"]'),
      anyway.waitFor().then(() => anyway.click()),
    ]);
    await tablet.waitForSelector('[data-testid="login-form"]');
    assert.equal(await tablet.evaluate((k) => localStorage.getItem(k), draftKey), null);
    await signIn(tablet, server.url, "field-north-2");
    await tablet.waitForSelector('[data-testid="capture-form"]');
    assert.equal(await tablet.inputValue('[data-testid="nickname"]'), "");
    assert.equal(await tablet.getAttribute('[data-testid="draft-state"]', "data-state"), "none");
  } finally {
    await browser.close();
    await server.stop();
  }
});
