// An overdue record escalates on the server with nobody's page open: a
// phone complaint registered 20 hours after it arrived, prioritised P0
// (2 hours to first response), is escalated by the system within a run of
// the escalation job; the supervisor's bell shows it, opening the
// notification marks it read and shows the record, whose history names
// the system; the escalated view lists it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, signIn, startServer, tempDir, waitForInbox } from "./support.mjs";

test("an overdue record escalates and the supervisor is notified", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-escalate-"), await freePort(), {
    extraArgs: ["--escalation-seconds", "1"],
  });
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office/new");
    await office.waitForSelector('[data-testid="register-form"]');
    const received = await office.evaluate(() => {
      const d = new Date(Date.now() - 20 * 3_600_000);
      const p = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await office.fill('[data-testid="reg-received"]', received);
    await office.fill('[data-testid="reg-nickname"]', "郑女士");
    await office.fill('[data-testid="reg-description"]', "昨晚买的牛奶过期了，孩子喝了肚子疼。");
    await office.click('[data-testid="reg-save"]');
    await office.waitForSelector("[data-record-loaded]");
    await office.click('input[name="priority"][value="P0"]');
    await office.waitForSelector('[data-testid="work-outcome"].ok');

    // Nobody acts: the supervisor's bell rings.
    const supervisor = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(supervisor, server.url, "supervisor");
    await supervisor.goto(server.url + "/office");
    await supervisor.waitForSelector('.bell-count[data-unread="1"]', { timeout: 20_000 });
    await supervisor.click('[data-testid="bell"]');
    await supervisor.waitForSelector(".bell-list li.unread");
    assert.match(await supervisor.textContent(".bell-list"), /超时已升级[\s\S]*郑女士/);
    await supervisor.screenshot({ path: `${SCREENSHOTS}/office-bell.png` });

    // Opening it marks it read and shows the record, escalated by the system.
    await supervisor.click(".bell-list li.unread button.link");
    await supervisor.waitForSelector("[data-record-loaded]");
    await supervisor.waitForSelector('.bell-count[data-unread="0"]');
    const history = await supervisor.textContent("ol.timeline");
    assert.match(history, /系统（时限监控） · 升级/);

    // The escalated view lists it; the owner-less record also shows overdue.
    await supervisor.goto(server.url + "/office");
    await supervisor.click('[data-view="escalated"]');
    await waitForInbox(supervisor, ["郑女士 | 昨晚买的牛奶过期了，孩子喝了肚子疼。"]);
    assert.match(await supervisor.textContent("#inbox td.sla"), /已超时/);
    await supervisor.screenshot({ path: `${SCREENSHOTS}/office-escalated.png`, fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
  }
});
