// The website's feedback form (issue 15 point 5): a customer on a phone,
// with no account, writes what happened; a send while offline is kept and
// goes once the connection is back; the reference is shown, and the
// feedback is a record in head office's inbox (channel: website form).
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, signIn, startServer, tempDir, waitForInbox } from "./support.mjs";

test("website feedback sent from a phone through a dropped connection reaches the inbox", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-feedback-"), await freePort());
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: "zh-CN" });
    const phone = await context.newPage();
    await phone.goto(`${server.url}/feedback`);
    await phone.waitForSelector("text=意见反馈");
    await phone.click('[data-testid="send"]');
    await phone.waitForSelector('[role="alert"] >> text=请写下发生了什么');
    await phone.fill('textarea[name="description"]', "网站下单后一直没有发货，客服电话打不通。");
    await phone.fill('input[name="order_number"]', "A-1029");
    assert.equal(await phone.locator('.problem[role="alert"]').count(), 0, "the message goes once it is fixed");
    await phone.screenshot({ path: `${SCREENSHOTS}/feedback-form.png` });

    await context.setOffline(true);
    await phone.click('[data-testid="send"]');
    await phone.waitForSelector("text=网络连接中断");
    // Closed and opened again while offline would lose nothing: it is kept.
    assert.match(await phone.evaluate(() => localStorage.getItem("closeloop.feedback")), /客服电话打不通/);
    await context.setOffline(false);
    await phone.waitForSelector('[data-testid="thanks"]', { timeout: 30_000 });
    const reference = await phone.textContent('[data-testid="reference"]');
    assert.match(reference, /^[0-9A-Z]{8}$/);
    await phone.screenshot({ path: `${SCREENSHOTS}/feedback-thanks.png` });
    assert.equal(await phone.evaluate(() => localStorage.getItem("closeloop.feedback")), null);

    const office = await (await browser.newContext()).newPage();
    await signIn(office, server.url, "office");
    await office.goto(`${server.url}/office`);
    await waitForInbox(office, ["网站访客 | 网站下单后一直没有发货，客服电话打不通。"]);
    assert.match(await office.textContent("#inbox"), /官网表单/);
  } finally {
    await browser.close();
    await server.stop();
  }
});
