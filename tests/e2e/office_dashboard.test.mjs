// Head office's dashboard (issue 16 points 1–2, 6): on seeded records the
// key figures, SVG charts with their tables and the breakdowns show; a
// figure opens the inbox list behind it with the same count, and that list
// exports as a streamed CSV with progress; filters narrow the figures;
// field staff are refused.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, seedRecords, signIn, startServer, tempDir, tokenFor } from "./support.mjs";

/** The leading number of a tile or row. */
async function number(page, selector) {
  const text = await page.textContent(selector);
  const m = text.match(/\d+/);
  assert.ok(m, `a number in ${selector}: ${text}`);
  return Number(m[0]);
}

/** The inbox's total ("共 N 条"). */
async function inboxTotal(page) {
  await page.waitForFunction(() => /共 \d+ 条/.test(document.querySelector("#page-info")?.textContent ?? ""));
  return Number((await page.textContent("#page-info")).match(/共 (\d+) 条/)[1]);
}

test("the dashboard shows the period's figures and drills down to the inbox", { timeout: 180_000 }, async () => {
  const dir = tempDir("closeloop-dashboard-");
  seedRecords(dir, 400);
  const server = await startServer(dir, await freePort());
  const browser = await launchBrowser();
  try {
    const fieldToken = await tokenFor(server.url, "field-north");
    const refused = await fetch(`${server.url}/api/dashboard`, { headers: { authorization: `Bearer ${fieldToken}` } });
    assert.equal(refused.status, 403);

    const desk = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(desk, server.url, "supervisor");
    await desk.goto(`${server.url}/office/dashboard`);
    await desk.waitForSelector('[data-testid="tile-received"]');
    const received = await number(desk, '[data-testid="tile-received"] strong');
    assert.ok(received > 100, `most seeded records fall in the last twelve weeks: ${received}`);
    assert.match(await desk.textContent('[data-testid="tile-first-response"] strong'), /\d+ (m|h|d)/);
    // Charts are SVG with their numbers as a table.
    assert.ok((await desk.locator("figure.chart svg rect").count()) > 10);
    assert.equal(await desk.locator("figure.chart details.chart-table table").count(), 3);
    assert.ok((await desk.locator('[data-testid="dash-sla"] tbody tr').count()) === 4);
    assert.ok((await desk.locator('[data-testid="dash-by-class"] dt').count()) > 0, "problem classes from root causes");
    await desk.selectOption('[data-testid="dash-stack-by"]', "channel");
    await desk.waitForSelector("figure.chart ul.legend >> text=电话/热线");
    await desk.screenshot({ path: `${SCREENSHOTS}/office-dashboard.png`, fullPage: true });

    // A department's row opens its inbox list, with the same count.
    const row = desk.locator('[data-testid="dash-by-department"] dl.bars dd').first();
    const inDepartment = Number((await row.textContent()).match(/\d+/)[0]);
    await desk.locator('[data-testid="dash-by-department"] dl.bars dt a').first().click();
    await desk.waitForURL(/\/office\?department=/);
    assert.equal(await inboxTotal(desk), inDepartment);

    // So does a problem class (the records' root causes).
    await desk.goto(`${server.url}/office/dashboard`);
    await desk.waitForSelector('[data-testid="dash-by-class"] dl.bars dt a');
    const inClass = Number((await desk.locator('[data-testid="dash-by-class"] dl.bars dd').first().textContent()).match(/\d+/)[0]);
    await desk.locator('[data-testid="dash-by-class"] dl.bars dt a').first().click();
    await desk.waitForURL(/\/office\?problem_class=/);
    assert.equal(await inboxTotal(desk), inClass);
    assert.notEqual(await desk.inputValue("#f-class"), "", "the inbox shows the filter");

    // The received tile: every record of the period.
    await desk.goto(`${server.url}/office/dashboard`);
    await desk.click('[data-testid="tile-received"]');
    await desk.waitForURL(/\/office\?from=\d+&to=\d+/);
    assert.equal(await inboxTotal(desk), received);

    // That list exported: streamed with its progress, saved with every row.
    const [download] = await Promise.all([desk.waitForEvent("download"), desk.click('[data-testid="export-csv"]')]);
    await desk.waitForSelector(`[data-testid="export-progress"] >> text=导出完成，记录数 ${received}`);
    assert.equal(await desk.getAttribute('[data-testid="export"] progress', "value"), "1");
    const csv = readFileSync(await download.path(), "utf8");
    assert.ok(csv.startsWith("\ufeff编号 id"), csv.slice(0, 40));
    assert.equal(csv.trim().split("\n").length, received + 1, "heading and one line per record");
    await desk.screenshot({ path: `${SCREENSHOTS}/office-export.png` });

    // A channel filter narrows every figure.
    await desk.goto(`${server.url}/office/dashboard`);
    await desk.waitForSelector('[data-testid="tile-received"]');
    await desk.selectOption('[data-testid="dash-channel"]', "phone");
    await desk.waitForFunction(
      (all) => {
        const n = Number(document.querySelector('[data-testid="tile-received"] strong')?.textContent);
        return n > 0 && n < all;
      },
      received,
    );

    // Bad input is refused in words and changes nothing.
    const token = await tokenFor(server.url, "office");
    const bad = await fetch(`${server.url}/api/dashboard?from=10&to=5`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).code, "period_empty");
    const far = await fetch(`${server.url}/api/dashboard?from=-9223372036854775807&to=-9223372036800000000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(far.status, 400);
    assert.equal((await far.json()).code, "period_out_of_range");
  } finally {
    await browser.close();
    await server.stop();
  }
});
