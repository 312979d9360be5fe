// The closed loop at head office, on screen: a record captured on a tablet
// while offline syncs when the network returns; head office classifies it
// (with guidance for its nature), prioritises, registers and assigns it;
// the owner records the root cause, solution and execution plan and logs
// the work; the reply is sent, the customer still has questions (which
// reopens it), a second reply follows — both kept in the thread — the
// customer's answer is recorded, a follow-up is planned three days later
// and its outcome logged, and the record is closed. Each step is a change
// to the record's document, checked by the relay's write rule and shown
// in the inbox. A field account is offered only the steps its role may take.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PNG, SCREENSHOTS, capture, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir, waitForInbox } from "./support.mjs";

const RECORD = { channel: "store_box", nickname: "吴女士", description: "退货时店员态度很差，还不给开票。" };

/** Which edit reported last (0: none yet). */
const reported = (page) =>
  page.evaluate(() => Number(document.querySelector('[data-testid="work-outcome"]')?.dataset.seq ?? 0));

/** Clicks a control of the work panel and waits for that edit to be kept. */
async function act(page, selector) {
  const before = await reported(page);
  await page.click(selector);
  await page.waitForFunction(
    (n) => {
      const o = document.querySelector('[data-testid="work-outcome"]');
      return o && Number(o.dataset.seq) > n;
    },
    before,
    { timeout: 10_000 },
  );
  assert.ok(await page.locator('[data-testid="work-outcome"].ok').count(), await page.textContent('[data-testid="work-outcome"]'));
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
  const dataDir = tempDir("closeloop-loop-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const tabletContext = await browser.newContext();
    const tablet = await tabletContext.newPage();
    await signInTablet(tablet, server.url, "field-north");
    // Captured with no network (the relay down too); it reaches head
    // office once both are back.
    await server.stop();
    await tabletContext.setOffline(true);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await capture(tablet, RECORD);
    server = await startServer(dataDir, port);
    await tabletContext.setOffline(false);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });

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
    await office.waitForSelector('[data-testid="guidance"] >> text=启动应急预案');
    await office.selectOption('select[data-field="feedbackType"]', { index: 1 });
    await act(office, 'input[name="priority"][value="P1"]');
    assert.match(await office.textContent("fieldset.priority"), /4 个工作小时响应/);

    // Register, assign, start, log, resolve.
    await act(office, '[data-step="register"]');
    // a jumps to the assignment.
    await office.locator("body").click({ position: { x: 5, y: 5 } });
    await office.keyboard.press("a");
    await office.waitForFunction(() => document.activeElement?.dataset.testid === "assign-owner");
    await office.fill('[data-testid="assign-owner"]', "office");
    // As the department suggestions fill it in: the key; shown by its label.
    await office.fill('[data-testid="assign-department"]', "store_ops");
    await act(office, '[data-step="assign"]');
    await office.waitForSelector(".facts >> text=门店运营");
    // It is in its department's queue.
    await office.goto(server.url + "/office");
    await office.waitForSelector("#inbox tr[data-record-id]");
    await office.selectOption('[data-testid="department-queue"]', "store_ops");
    await office.waitForFunction(() => document.querySelector('[data-testid="department-queue"]').value === "store_ops");
    await waitForInbox(office, [`${RECORD.nickname} | ${RECORD.description}`]);
    await office.click("#inbox a.open-record");
    await office.waitForSelector("[data-record-loaded]");
    await act(office, '[data-step="start"]');
    await office.fill('[data-testid="log-text"]', "已致电门店店长核实，当班店员承认态度问题。");
    // With the receipt photo the store sent: attached to the record, named in the log.
    await office.setInputFiles('[data-testid="log-files"]', [{ name: "小票.png", mimeType: "image/png", buffer: PNG }]);
    await act(office, '[data-testid="add-log"]');
    await office.waitForSelector("text=已致电门店店长核实");
    assert.match(await office.textContent(".timeline >> nth=1"), /已致电门店店长核实.*附件：小票\.png/);
    await office.waitForSelector('[data-testid="attachments"] img');
    assert.equal(await office.inputValue('[data-testid="log-files"]'), "", "the sent file is no longer chosen");
    // Root cause by problem class, solution, execution plan.
    await office.selectOption('[data-testid="cause-class"]', "service_quality");
    await office.fill('[data-testid="cause-text"]', "当班店员未按退货流程开具发票。");
    await act(office, '[data-testid="save-cause"]');
    await office.fill('[data-testid="solution-text"]', "补开发票并向客户致歉；门店复训退货流程。");
    await act(office, '[data-testid="save-solution"]');
    await office.fill('[data-testid="plan-goal"]', "一周内完成全店退货流程复训");
    await act(office, '[data-testid="save-plan"]');
    assert.equal(await office.inputValue('[data-testid="plan-owner"]'), "office", "the owner plans by default");
    await act(office, '[data-step="resolve"]');
    await office.waitForSelector('[data-testid="reply-clock"]');

    // Reply from the template: the reply step goes with it; the reply clock stops.
    await office.click('[data-testid="reply-template"][data-lang="en"]');
    assert.match(await office.inputValue('[data-testid="reply-text"]'), /thank you for your feedback/);
    await office.click('[data-testid="reply-template"][data-lang="zh"]');
    assert.match(await office.inputValue('[data-testid="reply-text"]'), /感谢您的反馈/);
    await act(office, '[data-testid="save-reply"]');
    await office.waitForSelector(".record-detail .status-pill >> text=已回复");
    assert.match(await office.textContent('[data-testid="reply-clock"]'), /按时完成/);

    // A field account sees the same record but is not offered closing.
    const field = await (await browser.newContext()).newPage();
    await signIn(field, server.url, "field-north");
    await field.goto(`${server.url}/records/${id}`);
    await field.waitForSelector("[data-record-loaded]");
    await field.waitForSelector("text=已回复");
    assert.equal(await field.locator('[data-step="close"]').count(), 0, "a field account cannot close");
    assert.equal(await field.locator('input[name="priority"]:enabled').count(), 0);

    // The customer still has questions: recorded in their words, reopened.
    await office.fill('[data-testid="answer-note"]', "问能否寄送纸质发票");
    await act(office, '[data-answer="has_questions"]');
    await office.waitForSelector(".record-detail .status-pill >> text=处理中");
    await act(office, '[data-step="resolve"]');
    await office.fill('[data-testid="reply-text"]', "纸质发票已于今日寄出，请注意查收。");
    await office.selectOption('[data-testid="reply-channel"]', "phone");
    await act(office, '[data-testid="save-reply"]');
    await act(office, '[data-answer="satisfied"]');
    // Both replies stay, each with the customer's answer to it.
    await office.waitForFunction(() => document.querySelectorAll('[data-testid="reply"]').length === 2);
    const thread = await office.$$eval('[data-testid="reply"]', (els) => els.map((e) => e.textContent));
    assert.match(thread[0], /感谢您的反馈[\s\S]*仍有疑问/);
    assert.match(thread[1], /电话[\s\S]*纸质发票已于今日寄出[\s\S]*满意/);
    // A follow-up three days after the reply, then its outcome.
    const planned = await office.inputValue('[data-testid="follow-up-at"]');
    assert.match(planned, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    await act(office, '[data-testid="plan-follow-up"]');
    await office.waitForSelector('[data-testid="follow-up-planned"]');
    await office.fill('[data-testid="follow-up-outcome-text"]', "客户已收到发票，对处理结果满意。");
    await act(office, '[data-testid="save-follow-up-outcome"]');
    await office.waitForSelector('[data-testid="follow-up-outcome"] >> text=客户已收到发票');
    await office.screenshot({ path: `${SCREENSHOTS}/office-work.png`, fullPage: true });
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
    assert.match(changes, /客户答复: 满意/);
    assert.match(changes, /回复: 纸质发票已于今日寄出/);
    assert.match(changes, /问题类别: 服务质量/);
    assert.match(changes, /新附件: 小票\.png/);
    const history = await office.textContent("ol.timeline");
    for (const step of ["登记分类", "分派", "开始处理", "解决", "回复客户", "关闭"]) {
      assert.ok(history.includes(step), `history shows ${step}: ${history}`);
    }

    // Its department's queue holds open records only: not this one any more.
    await office.goto(server.url + "/office");
    await office.waitForSelector("#inbox tr[data-record-id]");
    await office.selectOption('[data-testid="department-queue"]', "store_ops");
    await office.waitForSelector("#inbox p.empty");
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
