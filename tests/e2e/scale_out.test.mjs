// Two relay processes on different ports share one PostgreSQL database: a
// tablet on relay 1 and head office on relay 2 see each other's changes,
// and a JS automerge-repo client on relay 2 edits what the tablet shows.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import {
  SCREENSHOTS,
  capture,
  freePort,
  launchBrowser,
  sharedContactKey,
  signIn,
  startServer,
  tempDir,
  tokenFor,
  waitForInbox,
  waitForRecords,
} from "./support.mjs";

const database = process.env.CLOSELOOP_TEST_POSTGRES;

test("clients on two relays sharing PostgreSQL see each other's changes within a second", { timeout: 120_000 }, async () => {
  assert.ok(database, "needs CLOSELOOP_TEST_POSTGRES (cargo xtask test starts a PostgreSQL cluster)");
  // Relays sharing a database share the contact store's master key.
  const extraArgs = ["--contact-key-file", sharedContactKey()];
  const one = await startServer(tempDir("closeloop-relay1-"), await freePort(), { database, extraArgs });
  const two = await startServer(tempDir("closeloop-relay2-"), await freePort(), { database, extraArgs });
  const browser = await launchBrowser();
  let repo;
  try {
    const tablet = await (await browser.newContext()).newPage();
    await signIn(tablet, one.url, "field-north");
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    const office = await (await browser.newContext()).newPage();
    await signIn(office, two.url, "office");
    await office.goto(two.url + "/office");

    // A capture on relay 1 appears at head office on relay 2.
    await capture(tablet, { channel: "store_box", nickname: "周先生", description: "停车场出口排队太久。" });
    await waitForInbox(office, ["周先生 | 停车场出口排队太久。"]);

    // A live edit on relay 1 reaches relay 2's page.
    const docId = await tablet.locator('[data-testid="record"]').first().getAttribute("data-doc-id");
    const item = tablet.locator(`[data-testid="record"][data-doc-id="${docId}"]`);
    await item.locator('[data-testid="edit"]').click();
    await item.locator('[data-testid="edit-description"]').fill("停车场出口排队太久，收费机坏了一台。");
    let started = Date.now();
    await item.locator('[data-testid="save-edit"]').click();
    await waitForInbox(office, ["周先生 | 停车场出口排队太久，收费机坏了一台。"]);
    const oneToTwo = Date.now() - started;
    await office.screenshot({ path: `${SCREENSHOTS}/scale-out-office.png`, fullPage: true });

    // An edit made through relay 2 reaches the tablet on relay 1.
    const token = await tokenFor(two.url, "office");
    repo = new Repo({
      network: [new WebSocketClientAdapter(`${two.url.replace("http", "ws")}/sync?token=${encodeURIComponent(token)}`)],
    });
    const handle = await repo.find(docId);
    started = Date.now();
    handle.change((d) => A.updateText(d, ["description"], "停车场出口排队太久，已加派人手。"));
    await waitForRecords(tablet, ["周先生 | 停车场出口排队太久，已加派人手。"]);
    const twoToOne = Date.now() - started;
    console.log(`# relay 1 → 2: ${oneToTwo} ms; relay 2 → 1: ${twoToOne} ms`);
    assert.ok(oneToTwo < 1000, `relay 1 → 2 took ${oneToTwo} ms`);
    assert.ok(twoToOne < 1000, `relay 2 → 1 took ${twoToOne} ms`);
  } finally {
    await repo?.shutdown();
    await browser.close();
    await one.stop();
    await two.stop();
  }
});
