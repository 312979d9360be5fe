// Head office registers feedback that arrived by phone with the time it
// really arrived; a second registration of the same complaint is offered
// the first as a likely duplicate and linked to it; a received time in the
// future is refused with a clear message and nothing is saved.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PNG, SCREENSHOTS, freePort, launchBrowser, signIn, startServer, tempDir, waitForInbox } from "./support.mjs";

/** `yyyy-mm-ddThh:mm` in the browser's local time, `hours` from now. */
async function localMinute(page, hours) {
  return page.evaluate((h) => {
    const d = new Date(Date.now() + h * 3_600_000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }, hours);
}

async function register(page, url, { received, nickname, order, description, files, type }) {
  await page.goto(url + "/office/new");
  await page.waitForSelector('[data-testid="register-form"]');
  await page.selectOption('[data-testid="reg-channel"]', "phone");
  await page.fill('[data-testid="reg-received"]', received);
  await page.fill('[data-testid="reg-nickname"]', nickname);
  if (order) await page.fill('[data-testid="reg-order"]', order);
  if (type) await page.selectOption('[data-testid="reg-type"]', type);
  await page.fill('[data-testid="reg-description"]', description);
  if (files) {
    // A file no record may hold is refused as soon as it is chosen.
    await page.setInputFiles('[data-testid="reg-files"]', [{ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("x") }]);
    assert.match(await page.textContent('[data-testid="reg-problem"]'), /不支持的文件类型.*notes\.txt/);
    await page.setInputFiles('[data-testid="reg-files"]', files);
    await page.waitForSelector('[data-testid="reg-file-names"]');
  }
  await page.click('[data-testid="reg-save"]');
}

test("a phone complaint is registered with its past received time and its duplicate is linked", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-register-"), await freePort());
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");

    // A phone number typed into the description: warned before saving.
    await office.goto(server.url + "/office/new");
    await office.fill('[data-testid="reg-description"]', "客户说请回电 138 1234 5678");
    assert.match(await office.textContent('[data-testid="pii-warning"]'), /手机号.*无法删除/);
    await office.fill('[data-testid="reg-description"]', "客户说请回电");
    await office.waitForSelector('[data-testid="pii-warning"]', { state: "detached" });

    // A received time in the future: a clear error, nothing saved.
    await register(office, server.url, {
      received: await localMinute(office, 3),
      nickname: "何先生",
      description: "电话投诉：空调安装师傅迟到三个小时。",
    });
    assert.equal(await office.textContent('[data-testid="reg-problem"]'), "接收时间不能晚于现在");

    // Yesterday's call, registered today.
    const yesterday = await localMinute(office, -20);
    await register(office, server.url, {
      received: yesterday,
      nickname: "何先生",
      order: "SO-2026-3321",
      description: "电话投诉：空调安装师傅迟到三个小时，也没有提前通知。",
      files: [{ name: "预约短信截图.png", mimeType: "image/png", buffer: PNG }],
      type: "service_experience",
    });
    await office.waitForSelector("[data-record-loaded]");
    // The screenshot is attached, stored by its hash and shown.
    await office.waitForFunction(() => {
      const img = document.querySelector('[data-testid="attachments"] img');
      return img && img.complete && img.naturalWidth === 2;
    }, null, { timeout: 10_000 });
    assert.match(await office.textContent('[data-testid="attachments"]'), /预约短信截图\.png/);
    assert.equal(await office.inputValue('select[data-field="feedbackType"]'), "service_experience", "the type given at registration");
    await office.screenshot({ path: `${SCREENSHOTS}/office-registered-attachment.png` });
    const first = office.url().split("/").pop();
    const meta = await office.textContent(".record-detail .meta");
    assert.ok(meta.includes(yesterday.replace("T", " ")), `received time kept: ${meta}`);
    assert.match(await office.textContent('[data-testid="registration-clock"]'), /剩余|即将到期/);

    // The same complaint again (by WeChat, the next morning): offered as a duplicate.
    await register(office, server.url, {
      received: await localMinute(office, -2),
      nickname: "何先生",
      description: "空调安装师傅迟到了三个小时，没有提前通知！",
    });
    await office.waitForSelector('[data-testid="duplicates"]');
    assert.equal(await office.locator("[data-duplicate]").count(), 1);
    assert.equal(await office.getAttribute("[data-duplicate]", "data-duplicate"), first);
    await office.screenshot({ path: `${SCREENSHOTS}/office-register-duplicate.png`, fullPage: true });
    await office.click('[data-testid="link-duplicate"]');
    await office.waitForSelector("[data-record-loaded]");
    assert.notEqual(office.url().split("/").pop(), first, "a new record was registered");
    await office.waitForSelector(`text=${first}`);

    await office.goto(server.url + "/office");
    await waitForInbox(office, [
      "何先生 | 电话投诉：空调安装师傅迟到三个小时，也没有提前通知。",
      "何先生 | 空调安装师傅迟到了三个小时，没有提前通知！",
    ]);
  } finally {
    await browser.close();
    await server.stop();
  }
});
