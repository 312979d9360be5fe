// Head office's inbox: the list comes from the server's read model, a
// tablet's new record reaches an open inbox by server push (no polling),
// filters and saved views narrow it, the keyboard moves through it, and
// opening a record loads that one document — nothing else is stored in the
// office browser.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SCREENSHOTS,
  capture,
  freePort,
  launchBrowser,
  signIn,
  startServer,
  tempDir,
  waitForInbox,
} from "./support.mjs";

const RECORDS = [
  { channel: "store_box", nickname: "钱女士", description: "生鲜区的秤不准，称出来多了二两。" },
  { channel: "phone", nickname: "会员 2231", description: "积分兑换的电饭煲一直没有发货。" },
  { channel: "store_box", nickname: "孙先生", description: "停车场照明太暗，晚上不安全。" },
];
const line = (r) => `${r.nickname} | ${r.description}`;

/** Documents this page's browser holds in IndexedDB, in every database. */
async function storedDocuments(page) {
  return page.evaluate(async () => {
    const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    let total = 0;
    for (const { name } of await indexedDB.databases()) {
      const db = await request(indexedDB.open(name));
      if (db.objectStoreNames.contains("docs")) {
        total += await request(db.transaction("docs").objectStore("docs").count());
      }
      db.close();
    }
    return total;
  });
}

/** Waits for the inbox to finish a load after `before` loads. */
async function loadedAfter(page, before) {
  await page.waitForFunction(
    (n) => {
      const inbox = document.querySelector("#inbox");
      return inbox && Number(inbox.dataset.loads) > n && inbox.getAttribute("aria-busy") === "false";
    },
    before,
    { timeout: 10_000 },
  );
}

const loads = (page) => page.$eval("#inbox", (el) => Number(el.dataset.loads));

test("the inbox lists, filters, pushes and opens records from the read model", { timeout: 180_000 }, async () => {
  const server = await startServer(tempDir("closeloop-inbox-"), await freePort());
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await signIn(office, server.url, "office");
    const listCalls = [];
    office.on("request", (r) => {
      if (/\/api\/(records|documents)\?/.test(r.url())) listCalls.push(r.url());
    });
    await office.goto(server.url + "/office");
    await office.waitForSelector('.live[data-live="true"]');
    await loadedAfter(office, 0);
    await waitForInbox(office, []);

    // A tablet captures; the open inbox shows each record without a reload.
    const tablet = await (await browser.newContext()).newPage();
    await signIn(tablet, server.url, "field-north");
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    for (const [i, r] of RECORDS.entries()) {
      const started = Date.now();
      await capture(tablet, r);
      await waitForInbox(office, RECORDS.slice(0, i + 1).map(line));
      console.log(`# capture ${i + 1} reached the open inbox in ${Date.now() - started} ms`);
    }

    // No polling: with nothing stored, the page asks for nothing.
    const asked = listCalls.length;
    await office.waitForTimeout(2_500);
    assert.equal(listCalls.length, asked, `list requests while nothing changed: ${listCalls.slice(asked)}`);
    assert.equal(await storedDocuments(office), 0, "the inbox stores no record documents");

    // Filters: text search, then the channel; each is one server query.
    let before = await loads(office);
    await office.fill("#f-text", "停车场");
    await office.press("#f-text", "Enter");
    await loadedAfter(office, before);
    await waitForInbox(office, [line(RECORDS[2])]);
    before = await loads(office);
    await office.fill("#f-text", "");
    await office.press("#f-text", "Enter");
    await loadedAfter(office, before);
    before = await loads(office);
    await office.selectOption("#f-channel", "phone");
    await loadedAfter(office, before);
    await waitForInbox(office, [line(RECORDS[1])]);

    // The received range: from tomorrow on, nothing; from today, all three.
    const day = (offset) =>
      office.evaluate((o) => {
        const d = new Date(Date.now() + o * 86_400_000);
        const p = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
      }, offset);
    await office.click('[data-view="all"]');
    await waitForInbox(office, RECORDS.map(line));
    await office.fill("#f-from", await day(1));
    await office.dispatchEvent("#f-from", "change");
    await waitForInbox(office, []);
    await office.fill("#f-from", await day(0));
    await office.dispatchEvent("#f-from", "change");
    await office.fill("#f-to", await day(0));
    await office.dispatchEvent("#f-to", "change");
    await waitForInbox(office, RECORDS.map(line));

    // Saved views replace the filters: nothing is assigned yet, nothing overdue.
    await office.click('[data-view="unassigned"]');
    await waitForInbox(office, RECORDS.map(line));
    assert.equal(await office.inputValue("#f-channel"), "", "a view starts from its own filters");
    await office.click('[data-view="overdue"]');
    await waitForInbox(office, []);
    await office.click('[data-view="all"]');
    await waitForInbox(office, RECORDS.map(line));
    assert.match(await office.textContent("#page-info"), /共 3 条/);
    await office.screenshot({ path: `${SCREENSHOTS}/office-inbox.png`, fullPage: true });

    // The keyboard: j moves down, Enter opens the selected record.
    await office.locator("body").click({ position: { x: 5, y: 5 } });
    await office.keyboard.press("j");
    const second = await office.$eval("#inbox tr.selected", (el) => el.dataset.recordId);
    const rows = await office.$$eval("#inbox tr[data-record-id]", (els) => els.map((el) => el.dataset.recordId));
    assert.equal(second, rows[1], "j selects the next row");
    await office.keyboard.press("Enter");
    await office.waitForURL(`**/office/records/${second}`);
    await office.waitForSelector("[data-record-loaded]", { timeout: 10_000 });
    assert.equal(await storedDocuments(office), 1, "opening a record stores that one document");
    const shown = await office.textContent(".record-detail");
    const opened = RECORDS.find((r) => shown.includes(r.description));
    assert.ok(opened, `the detail shows a captured record: ${shown}`);
    assert.match(shown, /未定级/, "no priority yet: no SLA clock");
    await office.screenshot({ path: `${SCREENSHOTS}/office-record.png`, fullPage: true });

    // r opens the selected record with the reply box focused.
    await office.goto(server.url + "/office");
    await waitForInbox(office, RECORDS.map(line));
    await office.locator("body").click({ position: { x: 5, y: 5 } });
    await office.keyboard.press("r");
    await office.waitForURL(`**/office/records/${rows[0]}?focus=reply`);
    await office.waitForFunction(() => document.activeElement?.dataset.testid === "reply-text", null, { timeout: 10_000 });

    // English, at tablet width.
    await office.goto(server.url + "/office");
    await office.click('[data-testid="lang"]');
    await office.setViewportSize({ width: 800, height: 1000 });
    await waitForInbox(office, RECORDS.map(line));
    assert.match(await office.textContent("#page-info"), /3 records/);
    await office.screenshot({ path: `${SCREENSHOTS}/office-inbox-en-tablet.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
});
