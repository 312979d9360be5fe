// An edit made offline under rights that changed meanwhile: the PWA saved
// it (its cached role allowed it), the relay refuses it, and the tablet
// drops it from its copy, converges with the relay, and shows the author
// the edit as "not accepted" with the reason in their language.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { PASSWORD, SCREENSHOTS, capture, freePort, launchBrowser, signIn, startServer, tempDir, tokenFor, waitForRecords } from "./support.mjs";

const SERVER_BIN = process.env.CLOSELOOP_SERVER_BIN ?? "target/debug/closeloop-server";

function cli(dataDir, ...args) {
  const r = spawnSync(SERVER_BIN, ["--data-dir", dataDir, "--log", "warn", "user", ...args], {
    env: { ...process.env, CLOSELOOP_PASSWORD: PASSWORD },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`user ${args.join(" ")}: ${r.stderr}`);
}

test("an edit the relay refuses is shown as not accepted and the tablet converges", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-refused-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  cli(dataDir, "add", "desk", "--role", "head_office");
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.url, "desk");
    await page.goto(server.url + "/field");
    await page.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
    const original = { channel: "phone", nickname: "会员 5120", description: "电话投诉：积分没有到账。" };
    await capture(page, original);
    const token = await tokenFor(server.url, "desk");
    const stored = async () => {
      const r = await fetch(`${server.url}/api/records`, { headers: { authorization: `Bearer ${token}` } });
      return r.ok ? (await r.json()).records : [];
    };
    const deadline = Date.now() + 20_000;
    while ((await stored()).length !== 1) {
      if (Date.now() > deadline) throw new Error("the capture never reached the relay");
      await page.waitForTimeout(100);
    }

    // Offline; meanwhile the user becomes an admin, who writes no records.
    await server.stop();
    await context.setOffline(true);
    await page.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    cli(dataDir, "set-role", "desk", "--role", "admin");
    const item = page.locator('[data-testid="record"]').first();
    await item.locator('[data-testid="edit"]').click();
    await item.locator('[data-testid="edit-description"]').fill("电话投诉：积分没有到账，已补发。");
    await item.locator('[data-testid="save-edit"]').click();
    // Saved on the device: the editor closes.
    await item.locator('[data-testid="edit-description"]').waitFor({ state: "detached" });
    await waitForRecords(page, [`${original.nickname} | 电话投诉：积分没有到账，已补发。`]);

    // Back online: refused, dropped, shown, converged.
    server = await startServer(dataDir, port);
    await context.setOffline(false);
    const note = page.locator('[data-testid="refused"]');
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.textContent(), /未被接受的修改/);
    assert.match(await note.textContent(), /你的角色不能做这项修改/);
    await waitForRecords(page, [`${original.nickname} | ${original.description}`]);
    // The screen no longer offers what the new role may not do.
    await page.locator('[data-testid="edit"]').waitFor({ state: "detached", timeout: 20_000 });
    const records = await stored();
    assert.equal(records.length, 1);
    assert.equal(records[0].description, original.description, "the relay kept the accepted text");
    await page.screenshot({ path: `${SCREENSHOTS}/field-refused-edit.png`, fullPage: true });

    // The note survives a reload (kept in IndexedDB with the converged copy).
    await page.reload();
    await page.locator('[data-testid="refused"]').waitFor({ timeout: 20_000 });
    await waitForRecords(page, [`${original.nickname} | ${original.description}`]);
  } finally {
    await browser.close();
    await server.stop();
  }
});
