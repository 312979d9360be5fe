// Administrators manage accounts in the browser: create one (a weak
// password is refused in the user's language), change a role, disable,
// reset a password; the new password signs in. Nobody else gets the page.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, signIn, startServer, tempDir } from "./support.mjs";

async function outcome(page, cls) {
  const m = page.locator(`[data-testid="admin-message"].${cls}`);
  await m.waitFor({ timeout: 10_000 });
  return (await m.textContent()).trim();
}

test("an administrator creates, disables and resets accounts", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-admin-"), await freePort());
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext()).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/admin/users");
    assert.equal(await outcome(office, "problem"), "只有管理员可以管理用户");

    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(admin, server.url, "admin");
    await admin.goto(server.url + "/admin/users");
    await admin.waitForSelector('tr[data-user="field-north"]');

    // A weak password: refused, in Chinese.
    await admin.fill('[data-testid="new-username"]', "field-east");
    await admin.fill('[data-testid="new-user-password"]', "short");
    await admin.fill('[data-testid="new-team"]', "east");
    await admin.click('[data-testid="create"]');
    assert.equal(await outcome(admin, "problem"), "密码至少 10 位");
    await admin.fill('[data-testid="new-user-password"]', "east-password-2026");
    await admin.click('[data-testid="create"]');
    assert.equal(await outcome(admin, "ok"), "用户已创建");
    await admin.waitForSelector('tr[data-user="field-east"]');

    // Disable field-north; reset field-east's password and sign in with it.
    await admin.click('tr[data-user="field-north"] [data-testid="disable"]');
    await admin.waitForSelector('tr[data-user="field-north"].disabled');
    await admin.fill('tr[data-user="field-east"] [data-testid="new-password"]', "fresh-password-2026");
    await admin.click('tr[data-user="field-east"] [data-testid="reset-password"]');
    assert.equal(await outcome(admin, "ok"), "已保存，立即生效");
    await admin.screenshot({ path: `${SCREENSHOTS}/admin-users.png`, fullPage: true });
    const login = await fetch(`${server.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "field-east", password: "fresh-password-2026" }),
    });
    assert.equal(login.status, 200, "the reset password signs in");
    const refused = await fetch(`${server.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "field-north", password: "e2e-password-2026" }),
    });
    assert.equal(refused.status, 401, "a disabled account cannot sign in");
  } finally {
    await browser.close();
    await server.stop();
  }
});
