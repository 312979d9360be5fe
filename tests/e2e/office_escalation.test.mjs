// An overdue record escalates on the server with nobody's page open: a
// phone complaint registered 20 hours after it arrived, prioritised P0
// (2 hours to first response), is escalated by the system within a run of
// the escalation job; the supervisor's bell shows it, opening the
// notification marks it read and shows the record, whose history names
// the system; the escalated view lists it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SCREENSHOTS, freePort, launchBrowser, registerOverdue, signIn, startServer, tempDir, waitForInbox } from "./support.mjs";

test("an overdue record escalates and the supervisor is notified", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-escalate-"), await freePort(), {
    extraArgs: ["--escalation-seconds", "1"],
  });
  const browser = await launchBrowser();
  try {
    const office = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(office, server.url, "office");
    await registerOverdue(office, server.url, {
      nickname: "郑女士",
      description: "昨晚买的牛奶过期了，孩子喝了肚子疼。",
    });

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
