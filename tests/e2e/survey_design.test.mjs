// Survey design end to end (issue 15 points 1, 2 and 9): a supervisor edits
// the satisfaction survey in the builder (a new required choice question
// shown only after a low overall score, in both languages, checked as it
// is typed, previewed) and saves it as version 2; sets surveys to go out
// right after closing; head office closes a record whose customer agreed
// to surveys; the link goes out by itself (the outbox file); the customer
// answers version 2 on a phone, dissatisfied; head office sees the record
// reopened with the answer, the result and the send.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SCREENSHOTS, capture, firstRecordId, freePort, launchBrowser, resolveAtDesk, signIn, signInTablet, startServer, tempDir, tokenFor } from "./support.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/** The links in the outbox's email file, once there are `count` (30 s at most). */
async function outboxLinks(dataDir, count) {
  const file = join(dataDir, "outbox", "email.jsonl");
  for (let i = 0; i < 300; i++) {
    if (existsSync(file)) {
      const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
      if (lines.length >= count) return lines.map((l) => JSON.parse(l).body.match(/https?:\/\/\S+\/s\/[A-Za-z0-9_-]{22}/)[0]);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no survey email in the outbox");
}

test("a survey edited in the builder goes out by itself after closing and is answered in its new version", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-survey-design-");
  const server = await startServer(dataDir, await freePort());
  const browser = await launchBrowser();
  try {
    // The builder: a new question, checked as typed, previewed, saved as version 2.
    const boss = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(boss, server.url, "supervisor");
    await boss.goto(`${server.url}/office/surveys/edit`);
    await boss.waitForSelector('[data-testid="survey-builder"] >> text=版本 1');
    await boss.waitForSelector('[data-testid="design-check"].ok');
    await boss.fill('[data-testid="title-en"]', "How was your visit?");
    await boss.click('[data-add="single"]');
    await boss.waitForSelector('[data-editor="q1"]');
    const q = 7;
    await boss.fill(`[data-testid="key-${q}"]`, "Bad Key");
    await boss.press(`[data-testid="key-${q}"]`, "Tab");
    await boss.waitForSelector('[data-testid="design-check"].problem >> text=编号只能用小写字母');
    assert.match(await boss.textContent('[data-testid="design-check"]'), /\(Bad Key\)/);
    assert.ok(await boss.isDisabled('[data-testid="design-save"]'), "an invalid survey cannot be saved");
    await boss.fill(`[data-testid="key-${q}"]`, "heard_from");
    await boss.press(`[data-testid="key-${q}"]`, "Tab");
    await boss.waitForSelector('[data-editor="heard_from"]');
    await boss.fill(`[data-testid="text-${q}-zh"]`, "您是从哪里知道我们的？");
    await boss.fill(`[data-testid="text-${q}-en"]`, "Where did you hear of us?");
    await boss.fill(`[data-testid="options-${q}"]`, "朋友 | A friend\n广告 | An advert");
    await boss.check(`[data-testid="required-${q}"]`);
    await boss.selectOption(`[data-testid="if-question-${q}"]`, "overall");
    await boss.selectOption(`[data-testid="if-op-${q}"]`, "le");
    await boss.fill(`[data-testid="if-value-${q}"]`, "3");
    await boss.waitForSelector('[data-testid="design-check"].ok');
    await boss.click('[data-testid="preview-en"]');
    await boss.waitForSelector('[data-preview="heard_from"] >> text=Where did you hear of us?');
    assert.match(await boss.textContent('[data-preview="heard_from"]'), /Shown only when question 1 ≤ 3[\s\S]*A friend[\s\S]*An advert/);
    await boss.evaluate(() => window.scrollTo(0, 0));
    await boss.screenshot({ path: `${SCREENSHOTS}/survey-builder.png`, fullPage: true });
    await boss.click('[data-testid="design-save"]');
    await boss.waitForSelector('[data-testid="design-message"] >> text=已保存为版本 2');
    await boss.click('[data-testid="design-save"]');
    await boss.waitForSelector('[data-testid="design-message"] >> text=没有改动，仍是版本 2');

    // Sending: right after closing.
    await boss.goto(`${server.url}/office/surveys/sending`);
    await boss.waitForSelector('[data-testid="after-close"]');
    assert.equal(await boss.inputValue('[data-testid="after-close"]'), "2", "two hours by default");
    await boss.fill('[data-testid="after-close"]', "0");
    await boss.click('[data-testid="sending-save"]');
    await boss.waitForSelector('[data-testid="sending-message"] >> text=已保存');

    // A record whose customer agreed to surveys, captured on a tablet.
    const tablet = await (await browser.newContext()).newPage();
    await signInTablet(tablet, server.url, "field-north");
    await tablet.click('[data-testid="contact-section"] summary');
    await tablet.fill('[data-testid="contact-email"]', "zhou.wei@example.com");
    await tablet.check('[data-testid="consent-survey"]');
    await capture(tablet, { channel: "face_to_face", nickname: "周先生", description: "安装师傅很准时" });
    await tablet.waitForSelector('[data-testid="contacts-waiting"][data-count="0"]', { timeout: 30_000 });
    const office = await tokenFor(server.url, "office");
    const id = await firstRecordId(server.url, office);

    // Head office works it to closed.
    const { desk, step } = await resolveAtDesk(browser, server.url, id, "P3");
    await desk.click('[data-testid="reply-template"][data-lang="zh"]');
    await step('[data-testid="save-reply"]');
    await step('[data-step="close"]');
    await desk.waitForSelector(".record-detail .status-pill >> text=已关闭");

    // The link went out by itself, to the customer's email.
    const [link] = await outboxLinks(dataDir, 1);
    assert.ok(link.startsWith(server.url + "/s/"), link);
    const mail = readFileSync(join(dataDir, "outbox", "email.jsonl"), "utf8");
    assert.match(mail, /"to":"zhou\.wei@example\.com"/);

    // The customer answers version 2 on a phone, in English.
    const phone = await (await browser.newContext({ ...PHONE, locale: "en-US" })).newPage();
    await phone.goto(link);
    await phone.waitForSelector("text=How was your visit?");
    for (const score of ["2", "3", "3", "3", "5"]) {
      await phone.click(`[data-score="${score}"]`);
      await phone.click('[data-testid="next"]');
    }
    await phone.fill("textarea", "安装等了三天");
    await phone.click('[data-testid="next"]');
    await phone.click('[data-testid="next"]'); // no comment
    await phone.waitForSelector('[data-question="heard_from"] >> text=Where did you hear of us?');
    assert.equal(await phone.textContent('[data-testid="progress"]'), "Question 8 of 8");
    await phone.click('[data-testid="send"]');
    await phone.waitForSelector("text=Please answer this question first.");
    await phone.check('input[value="o1"]');
    await phone.click('[data-testid="send"]');
    await phone.waitForSelector('[data-testid="thanks"]');

    // Dissatisfied: the record is reopened at head office, with the answer.
    await desk.waitForSelector(".record-detail .status-pill >> text=处理中");
    await desk.waitForSelector('[data-testid="survey-answer"][data-dissatisfied="true"] >> text=“安装等了三天”');

    // Head office: the answer in the results, the send in the audit.
    await boss.goto(`${server.url}/office/surveys`);
    await boss.waitForSelector('[data-question="heard_from"] >> text=您是从哪里知道我们的？');
    assert.match(await boss.textContent('[data-testid="results-csat"]'), /\(0\/1\)/);
    await boss.goto(`${server.url}/office/surveys/sending`);
    await boss.waitForSelector('[data-testid="survey-sends"] tr[data-send-status="sent"] >> text=z***@example.com');
    // A campaign after a release: the customer had a survey this quarter, so it is skipped.
    await boss.click('[data-testid="campaign-start"]');
    await boss.waitForSelector('[data-testid="campaign-message"] >> text=请给活动起个名字');
    await boss.fill(`[data-testid="campaign-name"]`, "新版小程序上线");
    await boss.selectOption('[data-testid="campaign-channel"]', "face_to_face");
    await boss.check('[data-testid="campaign-anonymous"]');
    await boss.click('[data-testid="campaign-start"]');
    await boss.waitForSelector('[data-testid="campaign-message"] >> text=活动已发起');
    const row = '[data-testid="campaigns"] tr[data-campaign]';
    await boss.waitForSelector(`${row} >> text=已完成`);
    assert.deepEqual(
      await boss.$$eval(`${row} td`, (tds) => tds.slice(3).map((td) => td.textContent.trim())),
      ["0", "1", "0", "0"],
      "sent, skipped, failed, answered",
    );
    await boss.waitForSelector('[data-testid="survey-sends"] >> text=本周期已调查过');
    await boss.screenshot({ path: `${SCREENSHOTS}/survey-sending.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
});
