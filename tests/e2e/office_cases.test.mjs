// The typical-case library (issue 16 point 4): head office marks a record as
// a lesson on its page, with why (a mark without one is refused in words);
// the library finds it by a word of the note and by kind; unmarked, it
// leaves the library.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, capture, firstRecordId, freePort, launchBrowser, signIn, signInTablet, startServer, tempDir, tokenFor } from "./support.mjs";

test("a record marked as a lesson is found in the typical-case library", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-cases-"), await freePort());
  const browser = await launchBrowser();
  try {
    const tablet = await (await browser.newContext()).newPage();
    await signInTablet(tablet, server.url, "field-north");
    await capture(tablet, { channel: "face_to_face", nickname: "吴女士", description: "安装师傅迟到两小时，也没有提前打电话" });
    const id = await firstRecordId(server.url, await tokenFor(server.url, "office"));

    const desk = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(desk, server.url, "office");
    await desk.goto(`${server.url}/office/records/${id}`);
    await desk.waitForSelector('[data-testid="case-panel"] [data-testid="case-note"]');
    await desk.click('[data-testid="case-lesson"]');
    await desk.waitForSelector('[data-testid="case-panel"] [role="alert"] >> text=请写明为什么典型');
    await desk.fill('[data-testid="case-note"]', "上门前必须电话确认时间");
    await desk.click('[data-testid="case-lesson"]');
    await desk.waitForSelector('[data-testid="case-mark"] [data-case-kind="lesson"]');
    assert.match(await desk.textContent('[data-testid="case-mark"]'), /教训\s*上门前必须电话确认时间/);

    await desk.goto(`${server.url}/office/cases`);
    await desk.waitForSelector(`[data-testid="cases"] li[data-case="${id}"]`);
    await desk.fill('[data-testid="case-search"]', "电话确认");
    await desk.click('[data-testid="case-find"]');
    await desk.waitForSelector(`[data-testid="cases"] li[data-case="${id}"] >> text=安装师傅迟到两小时`);
    await desk.screenshot({ path: `${SCREENSHOTS}/office-cases.png`, fullPage: true });
    await desk.selectOption('[data-testid="case-kind"]', "example");
    await desk.waitForSelector('[data-testid="case-none"]');
    await desk.selectOption('[data-testid="case-kind"]', "lesson");
    await desk.waitForSelector(`[data-testid="cases"] li[data-case="${id}"]`);

    // Unmarked on the record page, it leaves the library.
    await desk.click(`[data-testid="cases"] li[data-case="${id}"] .what a`);
    await desk.waitForSelector('[data-testid="case-unmark"]');
    await desk.click('[data-testid="case-unmark"]');
    await desk.waitForSelector('[data-testid="case-panel"] [data-testid="case-note"]');
    await desk.goto(`${server.url}/office/cases`);
    await desk.waitForSelector('[data-testid="case-none"]');
  } finally {
    await browser.close();
    await server.stop();
  }
});
