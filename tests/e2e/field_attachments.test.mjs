// Attachments on the tablet (issue 14 point 2): a photo and a video taken
// offline are kept in IndexedDB with the draft, survive the page being
// closed, go up in resumable pieces once online (a lost piece and a closed
// tab cost no more than that piece), are counted as synced only when the
// server's hash matches, and reach head office byte for byte.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { PNG, SCREENSHOTS, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir, tokenFor } from "./support.mjs";

const MIB = 1 << 20;

/** Chooses a file made in the page (so its size is not limited by the test's protocol). */
function chooseMadeFile(page, selector, { name, type, size }) {
  return page.evaluate(
    ([selector, name, type, size]) => {
      const input = document.querySelector(selector);
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(size)], name, { type }));
      input.files = data.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    },
    [selector, name, type, size],
  );
}

test("photos and video taken offline reach head office whole, resuming after a lost piece", { timeout: 240_000 }, async () => {
  const dataDir = tempDir("closeloop-attach-");
  const port = await freePort();
  let server = await startServer(dataDir, port);
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 1280 } });
    let tablet = await context.newPage();
    await signInTablet(tablet, server.url, "field-north");

    // Offline for real: the server is gone too.
    await server.stop();
    await context.setOffline(true);
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="offline"]');
    await tablet.fill('[data-testid="nickname"]', "孙先生");
    await tablet.fill('[data-testid="description"]', "冰箱门封条脱落，见照片和视频");

    // Too large, or empty: said at once, nothing kept.
    await chooseMadeFile(tablet, '[data-testid="attach-files"]', { name: "long.mp4", type: "video/mp4", size: 50 * MIB + 1 });
    await tablet.waitForFunction(() => document.querySelector('[data-testid="attach-problem"]').textContent.includes("long.mp4"));
    assert.match(await tablet.textContent('[data-testid="attach-problem"]'), /超过 50 MB/);
    assert.equal(await tablet.locator('[data-testid="attachment-picker"] [data-testid="attachment"]').count(), 0);

    // A photo and a video of 2.5 MiB (three pieces).
    const video = Buffer.alloc(2 * MIB + MIB / 2, 7);
    await tablet.setInputFiles('[data-testid="attach-files"]', [
      { name: "door-seal.png", mimeType: "image/png", buffer: PNG },
      { name: "door-seal.mp4", mimeType: "video/mp4", buffer: video },
    ]);
    const shown = '[data-testid="attachment-picker"] [data-testid="attachment"]';
    await tablet.waitForFunction((s) => document.querySelectorAll(s).length === 2, shown);
    await tablet.waitForFunction(() => {
      const img = document.querySelector('[data-testid="attachment-picker"] img');
      return img && img.src.startsWith("blob:") && img.complete && img.naturalWidth === 2;
    });
    const photoSha = createHash("sha256").update(PNG).digest("hex");
    const videoSha = createHash("sha256").update(video).digest("hex");
    const shas = await tablet.$$eval(shown, (els) => els.map((e) => e.dataset.sha256));
    assert.deepEqual(shas, [photoSha, videoSha], "the tablet hashes what it keeps");
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="saved"]');

    // Closed mid-draft and opened again offline: the draft has its files.
    await tablet.close();
    tablet = await context.newPage();
    await tablet.goto(server.url + "/");
    await tablet.waitForSelector('[data-testid="draft-state"][data-state="restored"]');
    await tablet.waitForFunction((s) => document.querySelectorAll(s).length === 2, shown);
    await tablet.waitForFunction(() => document.querySelector('[data-testid="attachment-picker"] img')?.naturalWidth === 2);
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-attachments.png`, fullPage: true });
    await tablet.click('[data-testid="save"]');
    await tablet.waitForSelector('[data-testid="form-message"].ok');
    await tablet.waitForSelector('[data-testid="files-waiting"][data-count="2"]');

    // Online, but the video's second piece is lost on the way.
    server = await startServer(dataDir, port);
    let dropped = 0;
    await context.route(`**/api/attachments/${videoSha}/upload?offset=${MIB}&*`, (route) => {
      dropped += 1;
      return route.abort("connectionreset");
    });
    await context.setOffline(false);
    await tablet.click('[data-testid="sync-now"]');
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]', { timeout: 30_000 });
    await tablet.waitForSelector('[data-testid="files-waiting"][data-count="1"]', { timeout: 30_000 });
    const deadline = Date.now() + 20_000;
    while (dropped === 0 && Date.now() < deadline) await tablet.waitForTimeout(100);
    assert.ok(dropped > 0, "the second piece was tried");
    // The tab is closed mid-upload; the server holds the first piece.
    await tablet.close();
    const token = await tokenFor(server.url, "field-north");
    const held = await fetch(`${server.url}/api/attachments/${videoSha}/upload`, {
      headers: { Authorization: `Bearer ${token}` },
    }).then((r) => r.json());
    assert.equal(held.received, MIB, "one piece is on the server");

    // Opened again: the upload goes on from there, not from the start.
    await context.unrouteAll();
    const puts = [];
    context.on("request", (r) => {
      if (r.method() === "PUT") puts.push(new URL(r.url()).searchParams.get("offset"));
    });
    tablet = await context.newPage();
    await tablet.goto(server.url + "/");
    await tablet.waitForSelector('[data-testid="in-step"]', { timeout: 30_000 });
    assert.equal(await tablet.locator('[data-testid="files-waiting"]').count(), 0);
    assert.deepEqual(puts, [String(MIB), String(2 * MIB)], "resumed at the first missing byte");

    // Head office: the record with both files, byte for byte.
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    const list = await office.evaluate(async () => (await fetch("/api/records?q=门封条脱落")).json());
    assert.equal(list.total, 1);
    const id = list.records[0].id;
    for (const [sha, bytes] of [[photoSha, PNG], [videoSha, video]]) {
      const got = await office.evaluate(async (sha) => {
        const r = await fetch(`/api/attachments/${sha}`);
        return { status: r.status, bytes: Array.from(new Uint8Array(await r.arrayBuffer())).length, sum: await crypto.subtle.digest("SHA-256", await (await fetch(`/api/attachments/${sha}`)).arrayBuffer()).then((d) => Array.from(new Uint8Array(d)).map((b) => b.toString(16).padStart(2, "0")).join("")) };
      }, sha);
      assert.equal(got.status, 200);
      assert.equal(got.bytes, bytes.length);
      assert.equal(got.sum, sha);
    }
    await office.goto(`${server.url}/office/records/${id}`);
    await office.waitForSelector("[data-record-loaded]");
    await office.waitForFunction(() => document.querySelector('[data-testid="attachments"] img')?.naturalWidth === 2);
    assert.equal(await office.locator('[data-testid="attachments"] [data-testid="attachment"]').count(), 2);
    await office.screenshot({ path: `${SCREENSHOTS}/office-record-attachments.png`, fullPage: true });

    // The owner adds a photo to the record from the tablet's record page, offline.
    await context.setOffline(true);
    await tablet.goto(`${server.url}/records/${id}`).catch(() => {});
    await tablet.waitForSelector("[data-record-loaded]");
    const second = Buffer.concat([PNG, Buffer.from([0])]);
    await tablet.setInputFiles('[data-testid="attach-more"] [data-testid="attach-files"]', [
      { name: "after-repair.png", mimeType: "image/png", buffer: second },
    ]);
    // Kept at once: the record shows it, from this device.
    await tablet.waitForFunction(() => document.querySelectorAll('[data-testid="attachments"] [data-testid="attachment"]').length === 3);
    await tablet.waitForSelector('[data-testid="files-waiting"][data-count="1"]');
    await context.setOffline(false);
    await tablet.click('[data-testid="sync-now"]');
    const secondSha = createHash("sha256").update(second).digest("hex");
    await office.waitForFunction(async (sha) => (await fetch(`/api/attachments/${sha}`)).status === 200, secondSha, { timeout: 30_000, polling: 250 });
  } finally {
    await browser.close();
    await server.stop();
  }
});
