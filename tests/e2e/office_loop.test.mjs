// The closed loop at head office, on screen: a tablet's record is
// classified, prioritised, registered, assigned, worked with a log entry,
// resolved, replied with the template, the customer's answer recorded and
// the record closed — each step a change to the record's document, checked
// by the relay's write rule and shown in the inbox. A field account is
// offered only the steps its role may take.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, capture, freePort, launchBrowser, signIn, startServer, tempDir, waitForInbox } from "./support.mjs";

const RECORD = { channel: "store_box", nickname: "吴女士", description: "退货时店员态度很差，还不给开票。" };

/** Clicks a control of the work panel and waits for the edit to be kept. */
async function act(page, selector) {
  const outcomes = await page.locator('[data-testid="work-outcome"]').count();
  await page.click(selector);
  await page.waitForSelector('[data-testid="work-outcome"].ok', { timeout: 10_000 });
  assert.ok(outcomes <= 1);
}

/** The record's status in the inbox row, once it reads `want`. */
async function inboxStatus(page, url, want) {
  await page.goto(url + "/office");
  await page.waitForFunction(
    (w) => document.querySelector("#inbox tr[data-record-id] td.state")?.textContent.trim() === w,
    want,
    { timeout: 10_000 },
  );
}

test("head office works a record from capture to close", { timeout: 180_000 }, async () => {
  const server = await startServer(tempDir("closeloop-loop-"), await freePort());
  const browser = await launchBrowser();
  try {
    const tablet = await (await browser.newContext()).newPage();
    await signIn(tablet, server.url, "field-north");
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    await capture(tablet, RECORD);

    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office");
    await waitForInbox(office, [`${RECORD.nickname} | ${RECORD.description}`]);
    await office.click("#inbox a.open-record");
    await office.waitForSelector("[data-record-loaded]");
    const id = office.url().split("/").pop();

    // Classify and prioritise (the seeds' criteria are shown beside P0–P3).
    await office.selectOption('select[data-field="nature"]', "complaint");
    await office.waitForSelector('[data-testid="work-outcome"].ok');
    await office.selectOption('select[data-field="feedbackType"]', { index: 1 });
    await act(office, 'input[name="priority"][value="P1"]');
    assert.match(await office.textContent("fieldset.priority"), /4 个工作小时响应/);

    // Register, assign, start, log, resolve.
    await act(office, '[data-step="register"]');
    await office.fill('[data-testid="assign-owner"]', "office");
    await office.fill('[data-testid="assign-department"]', "门店运营");
    await act(office, '[data-step="assign"]');
    await act(office, '[data-step="start"]');
    await office.fill('[data-testid="log-text"]', "已致电门店店长核实，当班店员承认态度问题。");
    await act(office, '[data-testid="add-log"]');
    await office.waitForSelector("text=已致电门店店长核实");
    await act(office, '[data-step="resolve"]');

    // Reply from the template, then the reply step, the answer, close.
    await office.click('[data-testid="reply-template"]');
    assert.match(await office.inputValue('[data-testid="reply-text"]'), /感谢您的反馈/);
    await act(office, '[data-testid="save-reply"]');
    await act(office, '[data-step="reply"]');
    await office.screenshot({ path: `${SCREENSHOTS}/office-work.png`, fullPage: true });

    // A field account sees the same record but is not offered closing.
    const field = await (await browser.newContext()).newPage();
    await signIn(field, server.url, "field-north");
    await field.goto(`${server.url}/office/records/${id}`);
    await field.waitForSelector("[data-record-loaded]");
    await field.waitForSelector("text=已回复");
    assert.equal(await field.locator('[data-step="close"]').count(), 0, "a field account cannot close");
    assert.equal(await field.locator('input[name="priority"]:enabled').count(), 0);

    await act(office, '[data-answer="satisfied"]');
    await act(office, '[data-step="close"]');
    await office.waitForSelector(".record-detail .status-pill >> text=已关闭");
    // The change timeline: what each change did, and who the relay says delivered it.
    await office.waitForSelector('[data-testid="changes"] li >> text=优先级: P1');
    // Each change is matched with the relay's log once stored (pushed).
    await office.waitForFunction(
      () => /office · \d{4}-\d{2}-\d{2} \d{2}:\d{2} · 会话 [0-9a-f]{8}\s*状态: 已回复 → 已关闭/.test(
        document.querySelector('[data-testid="changes"]').textContent,
      ),
      null,
      { timeout: 10_000 },
    );
    const changes = await office.textContent('[data-testid="changes"]');
    assert.match(changes, /field-north · [^·]+ · 会话 [0-9a-f]{8}\s*状态: 新登记/, "the capture, delivered by the tablet");
    assert.match(changes, /性质: 投诉/);
    const history = await office.textContent("ol.timeline");
    for (const step of ["登记分类", "分派", "开始处理", "解决", "回复客户", "关闭"]) {
      assert.ok(history.includes(step), `history shows ${step}: ${history}`);
    }

    // The read model follows: the inbox shows it closed, P1, owned by office.
    await inboxStatus(office, server.url, "已关闭");
    const row = await office.textContent("#inbox tr[data-record-id]");
    assert.match(row, /P1/);
    assert.match(row, /office/);
    assert.match(row, /投诉/);
  } finally {
    await browser.close();
    await server.stop();
  }
});
