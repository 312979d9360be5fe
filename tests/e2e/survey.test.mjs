// Surveys end to end (issue 15 points 3, 4, 7 and 9): head office resolves a
// record and creates a survey link on its page; the link opens on a phone
// without an account, one question per screen in the browser's language;
// answers survive a reload; a submit while offline is kept and sent once
// when the connection is back; the dissatisfied answer reopens the record,
// which shows it; the link then shows a friendly "already answered" page.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, capture, firstRecordId, freePort, launchBrowser, resolveAtDesk, signInTablet, startServer, tempDir, tokenFor } from "./support.mjs";

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function api(url, token, method, path) {
  const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json() };
}

test("a customer answers a survey link once on a phone, through a dropped connection", { timeout: 150_000 }, async () => {
  const server = await startServer(tempDir("closeloop-survey-"), await freePort());
  const browser = await launchBrowser();
  try {
    const tablet = await (await browser.newContext()).newPage();
    await signInTablet(tablet, server.url, "field-north");
    await capture(tablet, { channel: "face_to_face", nickname: "周先生", description: "退货等了两周" });
    const office = await tokenFor(server.url, "office");
    const id = await firstRecordId(server.url, office);

    // Head office works the record to resolved, then creates the link on its page.
    const { desk, step } = await resolveAtDesk(browser, server.url, id, "P2");
    await desk.waitForSelector(".record-detail .status-pill >> text=已解决");
    await desk.waitForSelector('[data-testid="survey-panel"] >> text=客户还没有回答');
    await desk.click('[data-testid="survey-issue"]');
    await desk.waitForSelector('[data-testid="survey-link"]');
    // The server's push of later changes redraws the answers, not the link.
    await desk.fill('[data-testid="log-text"]', "已请客户评价");
    await step('[data-testid="add-log"]');
    const link = await desk.inputValue('[data-testid="survey-link"]');
    assert.match(link, /\/s\/[A-Za-z0-9_-]{22}$/);

    // A phone in English: one question per screen with its progress.
    const context = await browser.newContext({ ...PHONE, locale: "en-US" });
    const phone = await context.newPage();
    const downloaded = [];
    phone.on("response", async (r) => downloaded.push((await r.body().catch(() => Buffer.alloc(0))).length));
    await phone.goto(link);
    await phone.waitForSelector("text=How did we do?");
    assert.equal(await phone.textContent('[data-testid="progress"]'), "Question 1 of 6");
    await phone.click('[data-testid="next"]');
    await phone.waitForSelector("text=Please answer this question first.");
    await phone.click('[data-score="2"]');
    assert.equal(await phone.textContent('[data-testid="progress"]'), "Question 1 of 7", "a low score asks what disappointed");
    await phone.screenshot({ path: `${SCREENSHOTS}/survey-question.png` });
    await phone.click('[data-testid="next"]');
    await phone.click('[data-score="3"]');
    await phone.click('[data-testid="next"]');

    // Closed and reopened half-way: the answers and the place are kept.
    await phone.reload();
    await phone.waitForSelector('[data-question="attitude"]');
    assert.equal(await phone.textContent('[data-testid="progress"]'), "Question 3 of 7");
    for (const score of ["4", "3"]) {
      await phone.click(`[data-score="${score}"]`);
      await phone.click('[data-testid="next"]');
    }
    await phone.click('[data-score="5"]');
    await phone.screenshot({ path: `${SCREENSHOTS}/survey-nps.png` });
    assert.doesNotMatch(await phone.textContent("main"), /null|undefined/);
    await phone.click('[data-testid="next"]');
    await phone.fill("textarea", "退货流程太慢");
    await phone.click('[data-testid="next"]');

    // Sent while offline: kept and said so, then sent once when back.
    await context.setOffline(true);
    await phone.click('[data-testid="send"]');
    await phone.waitForSelector("text=No connection");
    await phone.screenshot({ path: `${SCREENSHOTS}/survey-offline.png` });
    await context.setOffline(false);
    await phone.waitForSelector('[data-testid="thanks"]', { timeout: 30_000 });
    await phone.screenshot({ path: `${SCREENSHOTS}/survey-thanks.png` });
    const answers = await api(server.url, office, "GET", `/api/records/${id}/survey-answers`);
    assert.equal(answers.body.length, 1, JSON.stringify(answers.body));
    assert.ok(answers.body[0].lines.some((l) => l.value.zh === "“退货流程太慢”"), JSON.stringify(answers.body));
    assert.equal(answers.body[0].dissatisfied, true);
    // Head office sees the answer and the reopened record, by server push.
    await desk.waitForSelector('[data-testid="survey-answer"][data-dissatisfied="true"] >> text=“退货流程太慢”');
    await desk.waitForSelector(".record-detail .status-pill >> text=处理中");
    await desk.waitForSelector("text=系统（满意度调查） · 重新打开");
    await desk.screenshot({ path: `${SCREENSHOTS}/office-survey-answer.png`, fullPage: true });
    const bytes = downloaded.reduce((a, b) => a + b, 0);
    assert.ok(bytes < 150_000, `the page is light: ${bytes} bytes`);

    // The results at head office: CSAT against the 90 % line, by channel.
    await desk.goto(`${server.url}/office/surveys`);
    await desk.waitForSelector('[data-testid="results-csat"] >> text=0 %');
    assert.match(await desk.textContent('[data-testid="results-csat"]'), /\(0\/1\)/);
    await desk.selectOption('[data-testid="results-by"]', "channel");
    await desk.waitForSelector('[data-testid="results-groups"] tr[data-group="face_to_face"] >> text=面对面访谈');
    await desk.waitForSelector('[data-question="disappointed"] >> text=退货流程太慢');
    await desk.screenshot({ path: `${SCREENSHOTS}/office-survey-results.png`, fullPage: true });
    const [download] = await Promise.all([desk.waitForEvent("download"), desk.click('[data-testid="results-xlsx"]')]);
    assert.equal(download.suggestedFilename(), "closeloop-survey-answers.xlsx");

    // Opened on a device that runs the app, the customer's page never takes
    // the app's place: offline, the app still starts.
    const staff = await desk.context().newPage();
    await staff.goto(link);
    await staff.waitForSelector('[data-testid="closed"]');
    await desk.context().setOffline(true);
    await staff.goto(`${server.url}/`).catch(() => {});
    await staff.waitForSelector('[data-testid="sync-status"]');
    await desk.context().setOffline(false);

    // Opened again elsewhere, in Chinese: already answered.
    const again = await (await browser.newContext({ ...PHONE, locale: "zh-CN" })).newPage();
    await again.goto(link);
    await again.waitForSelector('[data-testid="closed"] >> text=这份问卷已经提交过了');
    await again.screenshot({ path: `${SCREENSHOTS}/survey-used.png` });
  } finally {
    await browser.close();
    await server.stop();
  }
});
