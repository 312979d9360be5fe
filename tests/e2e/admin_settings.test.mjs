// Administrators change the SLA policy, the working calendar and the
// taxonomy in the browser: bad input is refused in the user's language and
// saves nothing; saved settings count at once and survive a reload; a new
// channel reaches the forms of head office and field tablets at sign-in.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, signIn, startServer, tempDir } from "./support.mjs";

async function outcome(page, cls) {
  const m = page.locator(`[data-testid="admin-message"].${cls}`);
  await m.waitFor({ timeout: 10_000 });
  return (await m.textContent()).trim();
}

const channelKeys = (page, selector) =>
  page.$$eval(`${selector} option`, (os) => os.map((o) => o.value).filter((v) => v));

test("an administrator sets the SLA policy, calendar and taxonomy without a restart", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-settings-"), await freePort());
  const browser = await launchBrowser();
  try {
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(admin, server.url, "admin");

    // SLA: another preset, a holiday in 2027; a date that does not exist is refused.
    await admin.goto(server.url + "/admin/sla");
    await admin.waitForSelector('[data-testid="sla-preset"]');
    const p0 = 'tr[data-priority="P0"] [data-target="first"]';
    assert.equal(await admin.inputValue(`${p0} input`), "2");
    await admin.selectOption('[data-testid="sla-preset"]', "S002");
    await admin.waitForFunction((s) => document.querySelector(`${s} input`).value === "24", p0);
    assert.equal(await admin.inputValue(`${p0} select`), "calendar_hours");
    const holidays = await admin.inputValue('[data-testid="holidays"]');
    await admin.fill('[data-testid="holidays"]', `${holidays}\n2027-13-01`);
    await admin.click('[data-testid="save-sla"]');
    assert.equal(await outcome(admin, "problem"), "看不懂这个日期： 2027-13-01");
    await admin.fill('[data-testid="holidays"]', `${holidays}\n2027-01-01`);
    await admin.fill('[data-testid="near-due"]', "25");
    await admin.press('[data-testid="near-due"]', "Tab");
    await admin.click('[data-testid="save-sla"]');
    assert.equal(await outcome(admin, "ok"), "已保存，立即生效");
    await admin.screenshot({ path: `${SCREENSHOTS}/admin-sla.png`, fullPage: true });
    await admin.reload();
    await admin.waitForSelector('[data-testid="sla-preset"]');
    assert.equal(await admin.inputValue('[data-testid="sla-preset"]'), "S002");
    assert.equal(await admin.inputValue('[data-testid="near-due"]'), "25");
    assert.match(await admin.inputValue('[data-testid="holidays"]'), /2027-01-01/);

    // Taxonomy: a new channel with its owner, offered on tablets; a missing label first.
    await admin.goto(server.url + "/admin/taxonomy");
    await admin.waitForSelector('[data-testid="channels"] tbody tr');
    await admin.click('[data-testid="add-channel"]');
    const row = '[data-testid="channels"] tbody tr:last-child';
    await admin.fill(`${row} td:nth-child(1) input`, "xiaohongshu");
    await admin.press(`${row} td:nth-child(1) input`, "Tab");
    await admin.fill(`${row} td:nth-child(2) input`, "小红书");
    await admin.press(`${row} td:nth-child(2) input`, "Tab");
    await admin.click('[data-testid="save-taxonomy"]');
    assert.equal(await outcome(admin, "problem"), "缺少中文或英文名称： `xiaohongshu`");
    await admin.fill(`${row} td:nth-child(3) input`, "Xiaohongshu");
    await admin.press(`${row} td:nth-child(3) input`, "Tab");
    await admin.fill(`${row} td:nth-child(4) input`, "office");
    await admin.press(`${row} td:nth-child(4) input`, "Tab");
    await admin.check(`${row} td:nth-child(5) input`);
    await admin.click('[data-testid="save-taxonomy"]');
    assert.equal(await outcome(admin, "ok"), "已保存，立即生效");
    await admin.screenshot({ path: `${SCREENSHOTS}/admin-taxonomy.png`, fullPage: true });

    // Head office and a field tablet offer it after signing in.
    const office = await (await browser.newContext()).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office/new");
    await office.waitForFunction(() =>
      [...document.querySelectorAll("select option")].some((o) => o.value === "xiaohongshu"),
    );
    const tablet = await (await browser.newContext()).newPage();
    await signIn(tablet, server.url, "field-north");
    await tablet.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="channel"] option')].some((o) => o.value === "xiaohongshu"),
    );
    assert.ok((await channelKeys(tablet, '[data-testid="channel"]')).includes("xiaohongshu"));

    // Nobody else may change settings.
    await office.goto(server.url + "/admin/sla");
    assert.equal(await outcome(office, "problem"), "只有管理员可以管理用户");
  } finally {
    await browser.close();
    await server.stop();
  }
});
