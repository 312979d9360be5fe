// A new version of the app (issue 14 points 7 and 9): the tablet, holding a
// record not yet synced and a draft, learns that the server has a newer
// build, says "update available", and after the user updates runs the new
// version with every record, draft and file still there; it asks the
// browser to keep its storage and shows how much it uses.
import assert from "node:assert/strict";
import { cpSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SCREENSHOTS, capture, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir } from "./support.mjs";

const DIST_DIR = process.env.CLOSELOOP_DIST_DIR ?? "dist";

/**
 * A copy of the build whose script and wasm have new names, as a rebuild
 * with changed code would have (Trunk names files by content hash); the
 * name of the new script.
 */
function newerBuild() {
  const dir = tempDir("closeloop-dist-next-");
  cpSync(DIST_DIR, dir, { recursive: true });
  let index = readFileSync(join(dir, "index.html"), "utf8");
  let script = null;
  for (const name of readdirSync(dir)) {
    const m = name.match(/^(closeloop-app-[0-9a-f]+)((?:_bg)?\.(?:js|wasm))$/);
    if (!m) continue;
    const renamed = `${m[1]}0${m[2]}`;
    renameSync(join(dir, name), join(dir, renamed));
    index = index.replaceAll(`/${name}`, `/${renamed}`);
    if (renamed.endsWith(".js")) script = `/${renamed}`;
  }
  assert.ok(script, "the build names its files by content hash");
  writeFileSync(join(dir, "index.html"), index);
  return { dir, script };
}

test("a new version is offered, and updating keeps every local record and draft", { timeout: 180_000 }, async () => {
  const dataDir = tempDir("closeloop-update-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const tablet = await context.newPage();
    await signInTablet(tablet, server.url, "field-north");
    // The browser was asked to keep the data; use and quota are shown.
    const storage = tablet.locator('[data-testid="storage-line"]');
    await storage.waitFor();
    assert.ok(Number(await storage.getAttribute("data-quota")) > 0, "the quota is known");
    assert.match(await storage.textContent(), /本机存储 .* MB/);
    const persisted = await tablet.evaluate(() => navigator.storage.persisted());
    assert.equal(await storage.getAttribute("data-persisted"), String(persisted));
    if (!persisted) assert.match(await storage.textContent(), /浏览器可能清除本机数据/, "a warning while eviction is possible");
    assert.equal(await tablet.locator('[data-testid="update-available"]').count(), 0, "no update yet");
    const running = await tablet.getAttribute("link[rel=modulepreload]", "href");

    // Offline: a record waits for the server, a draft is half typed.
    await server.stop();
    await context.setOffline(true);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await capture(tablet, { channel: "store_box", nickname: "冯女士", description: "会员积分没有到账" });
    await tablet.waitForSelector('[data-testid="records-waiting"][data-count="1"]');
    await tablet.fill('[data-testid="nickname"]', "写了一半的客户");
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="saved"]');

    // The server comes back with a newer build: the open page offers it.
    const next = newerBuild();
    server = await startServer(dataDir, port, { distDir: next.dir });
    await context.setOffline(false);
    await tablet.waitForSelector('[data-testid="update-available"]', { timeout: 30_000 });
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-update-available.png` });
    await tablet.click('[data-testid="update-reload"]');
    await tablet.waitForFunction((s) => document.querySelector("link[rel=modulepreload]")?.getAttribute("href") === s, next.script, {
      timeout: 30_000,
    });
    assert.notEqual(next.script, running);
    await tablet.waitForSelector('[data-testid="capture-form"]');
    assert.equal(await tablet.locator('[data-testid="update-available"]').count(), 0, "the page runs the newest version");
    // Everything local is still there, and the waiting record goes up.
    assert.equal(await tablet.inputValue('[data-testid="nickname"]'), "写了一半的客户", "the draft survived the update");
    await tablet.waitForSelector('[data-testid="in-step"]', { timeout: 30_000 });
    assert.equal(await tablet.textContent('[data-testid="record-count"]'), "1");
    const office = await (await browser.newContext()).newPage();
    await signIn(office, server.url, "office");
    const listed = await office.evaluate(async () => (await fetch("/api/records?q=积分没有到账")).json());
    assert.equal(listed.total, 1, "the record kept through the update reached the server");

    // Offline again, the new version starts from the service worker's cache.
    await context.setOffline(true);
    await tablet.reload();
    await tablet.waitForSelector('[data-testid="capture-form"]');
    assert.equal(await tablet.getAttribute("link[rel=modulepreload]", "href"), next.script);

    // In English on a phone: every string of the tablet's page in the user's language.
    await tablet.setViewportSize({ width: 390, height: 844 });
    await tablet.click('[data-testid="lang"]');
    await tablet.waitForFunction(() => document.querySelector(".add-files span")?.textContent === "Take a photo or add a file");
    assert.match(await tablet.textContent('[data-testid="storage-line"]'), /Storage on this device/);
    const chinese = await tablet.evaluate(() =>
      [...document.body.innerText.matchAll(/[\u4e00-\u9fff]+/g)].map((m) => m[0]).filter((w) => !"冯女士会员积分没有到账 中文".includes(w)),
    );
    assert.deepEqual(chinese, [], "nothing left in Chinese but what the user typed");
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-capture-en-phone.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
});
