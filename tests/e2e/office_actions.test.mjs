// Improvement actions (issue 16 point 5): started from the dashboard with its
// filter, or from an inbox list with its records; followed to done; the
// effect shows the figure before and after side by side. The quarter's
// report (point 3) opens from the dashboard with the action in it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, seedRecords, signIn, startServer, tempDir } from "./support.mjs";

test("an improvement action is started from a chart, done, and its effect shown", { timeout: 180_000 }, async () => {
  const dir = tempDir("closeloop-actions-");
  seedRecords(dir, 300, 11);
  const server = await startServer(dir, await freePort());
  const browser = await launchBrowser();
  try {
    const desk = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(desk, server.url, "supervisor");

    // From the dashboard, measured on its filter.
    await desk.goto(`${server.url}/office/dashboard`);
    await desk.waitForSelector('[data-testid="tile-received"]');
    await desk.selectOption('[data-testid="dash-channel"]', "phone");
    await desk.click('[data-testid="dash-start-action"]');
    await desk.waitForURL(/\/office\/actions\?new=1&channel=phone/);
    await desk.waitForSelector('[data-testid="action-scope"] >> text=phone');
    await desk.selectOption('[data-testid="action-metric"]', "volume");
    await desk.click('[data-testid="action-save"]');
    await desk.waitForSelector('[role="alert"] >> text=请填写措施');
    await desk.fill('[data-testid="action-title"]', "热线投诉当天回拨");
    await desk.fill('[data-testid="action-plan"]', "客服中心每天 17:00 前回拨当天的投诉电话");
    await desk.fill('[data-testid="action-owner"]', "li.na");
    await desk.click('[data-testid="action-save"]');
    await desk.waitForSelector('.action-list li >> text=热线投诉当天回拨');

    // Done, then its effect: before it was opened and after it was done.
    await desk.selectOption('.action-list li [data-testid="action-status"]', "done");
    await desk.waitForSelector('.action-list li .status-pill.action-done');
    await desk.click('.action-list li [data-testid="action-measure"]');
    await desk.waitForSelector('[data-testid="action-effect"]');
    const before = await desk.textContent('[data-testid="action-effect"] tbody td:nth-child(2)');
    assert.match(before, /^\d+ \d{4}-\d{2}-\d{2} – \d{4}-\d{2}-\d{2}/, before);
    assert.ok(Number(before.match(/^\d+/)[0]) > 0, "phone records in the 28 days before");
    assert.match(await desk.textContent('[data-testid="action-verdict"]'), /指标已改善|还不够/);
    await desk.screenshot({ path: `${SCREENSHOTS}/office-actions.png`, fullPage: true });

    // The quarter's report: one click from the dashboard, print-ready,
    // with the action of the period; and the same as a workbook.
    await desk.goto(`${server.url}/office/dashboard`);
    await desk.waitForSelector('[data-testid="report-links"]');
    const [report] = await Promise.all([desk.context().waitForEvent("page"), desk.click('[data-testid="report-html"]')]);
    await report.waitForLoadState();
    assert.match(await report.textContent("h1"), /^季度分析报告 \d{4}-Q[1-4]$/);
    await report.waitForSelector("table.figures >> text=反馈量");
    await report.waitForSelector("text=热线投诉当天回拨");
    assert.ok((await report.locator("svg rect").count()) > 0, "the volume chart");
    await report.setViewportSize({ width: 1000, height: 900 });
    await report.screenshot({ path: `${SCREENSHOTS}/report-quarterly.png`, fullPage: true });
    const xlsx = await desk.evaluate(async (href) => {
      const r = await fetch(href);
      const bytes = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, type: r.headers.get("content-type"), magic: Array.from(bytes.slice(0, 4)) };
    }, await desk.getAttribute('[data-testid="report-xlsx"]', "href"));
    assert.equal(xlsx.status, 200);
    assert.match(xlsx.type, /spreadsheetml/);
    assert.deepEqual(xlsx.magic, [0x50, 0x4b, 0x03, 0x04], "a zip archive");
    const bad = await desk.evaluate(async () => (await fetch("/api/reports/2026-Q9.html")).status);
    assert.equal(bad, 400);

    // From an inbox list: its records are linked.
    await desk.goto(`${server.url}/office?channel=email`);
    await desk.waitForFunction(() => /共 \d+ 条/.test(document.querySelector("#page-info")?.textContent ?? ""));
    const total = Number((await desk.textContent("#page-info")).match(/共 (\d+) 条/)[1]);
    await desk.click('[data-testid="action-for-list"]');
    await desk.waitForURL(/\/office\/actions\?new=1&list=/);
    await desk.waitForSelector(`[data-testid="action-scope"] >> text=关联记录 ${Math.min(total, 200)}`);
  } finally {
    await browser.close();
    await server.stop();
  }
});
