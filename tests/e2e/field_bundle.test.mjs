// The tablet's build and head office's (issue 14 point 6): a tablet's first
// load fetches only the tablet's build; its record page links to head office
// for the desk panels; a head-office page it never opened says offline that
// it needs a connection once, and once opened online it starts offline too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, capture, freePort, launchBrowser, signInTablet, startServer, tempDir } from "./support.mjs";

/** In the page: whether the service worker holds `path` and a wasm file under `prefix`. */
async function kept([path, prefix]) {
  const cache = await caches.open("closeloop-shell-v1");
  const keys = (await cache.keys()).map((r) => new URL(r.url).pathname);
  return keys.includes(path) && keys.some((k) => k.startsWith(prefix) && k.endsWith(".wasm"));
}

test("a tablet loads only its build, and head office's build when a desk page is opened", { timeout: 150_000 }, async () => {
  const server = await startServer(tempDir("closeloop-bundle-"), await freePort());
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 1280 } });
    const tablet = await context.newPage();
    const fetched = [];
    tablet.on("request", (r) => fetched.push(new URL(r.url()).pathname));

    await signInTablet(tablet, server.url, "field-north");
    await capture(tablet, { channel: "face_to_face", nickname: "王女士", description: "门店空调太冷" });
    await tablet.click('[data-testid="open-record"]');
    await tablet.waitForURL(/\/records\/[^/]+$/);
    await tablet.waitForSelector("[data-record-loaded]");
    await tablet.waitForSelector('[data-testid="desk-link"]');
    assert.equal(await tablet.locator('[data-testid="contact-panel"]').count(), 0, "no desk panels on the tablet");
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-record.png`, fullPage: true });
    assert.ok(fetched.some((p) => /^\/closeloop-app-[0-9a-f]+_bg\.wasm$/.test(p)), fetched.join(" "));
    assert.deepEqual(fetched.filter((p) => p.startsWith("/office/")), [], "the tablet's build only");
    const recordPath = new URL(tablet.url()).pathname;

    // Offline, a head-office page never opened says it needs a connection once.
    await context.setOffline(true);
    await tablet.goto(`${server.url}/office`).catch(() => {});
    await tablet.waitForSelector("text=Needs a connection once");
    await tablet.screenshot({ path: `${SCREENSHOTS}/field-desk-offline.png` });
    await tablet.goBack().catch(() => {});
    await context.setOffline(false);

    // Online, the record page's link opens the record in head office's build.
    await tablet.goto(server.url + recordPath);
    await tablet.waitForSelector('[data-testid="desk-link"]');
    await tablet.click('[data-testid="desk-link"] a');
    await tablet.waitForURL(`**/office${recordPath}`);
    await tablet.waitForSelector('[data-testid="contact-panel"]');
    assert.ok(fetched.some((p) => /^\/office\/closeloop-office-[0-9a-f]+_bg\.wasm$/.test(p)));
    await tablet.waitForFunction(kept, ["/office/index.html", "/office/"], { timeout: 20_000 });

    // From then on head office's build starts offline too, with the record.
    await context.setOffline(true);
    await tablet.reload().catch(() => {});
    await tablet.waitForSelector("[data-record-loaded]");
    await tablet.waitForSelector('[data-testid="contact-panel"]');
    await context.setOffline(false);
  } finally {
    await browser.close();
    await server.stop();
  }
});
