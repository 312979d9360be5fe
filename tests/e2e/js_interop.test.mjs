// An unmodified JavaScript automerge-repo client (npm, WebSocket adapter)
// and the Closeloop PWA (Rust/wasm) exchange records through the relay.
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
  signIn,
  startServer,
  tempDir,
  tokenFor,
  waitForInbox,
  waitForRecords,
} from "./support.mjs";

async function waitFor(what, check, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("a JS automerge-repo client and the wasm client see each other's records and edits", { timeout: 120_000 }, async () => {
  const server = await startServer(tempDir("closeloop-interop-"), await freePort());
  const browser = await launchBrowser();
  // The JS client signs in as head office and passes its token in the URL
  // (a browser-style WebSocket cannot set headers).
  const token = await tokenFor(server.url, "office");
  const syncUrl = `${server.url.replace("http", "ws")}/sync?token=${encodeURIComponent(token)}`;
  const repo = new Repo({ network: [new WebSocketClientAdapter(syncUrl)] });
  try {
    // JS creates a record shaped as Closeloop reads it (schema 2).
    const handle = repo.create({
      schemaVersion: 2,
      receivedAt: new Date(),
      capturedBy: new A.ImmutableString("office"), // the token's user: the relay accepts no other author
      channel: new A.ImmutableString("web_form"),
      source: new A.ImmutableString("external_customer"),
      customer: new A.ImmutableString("网页用户 42"),
      description: "网页提交：发票抬头开错了。",
      solution: "",
      aspects: {},
      attachments: [],
      history: [],
      log: [],
    });
    const jsId = handle.documentId;
    await waitFor("the relay to store the JS record", async () => {
      const feed = await (await fetch(`${server.url}/api/documents?after=0`, { headers: { authorization: `Bearer ${token}` } })).json();
      return feed.documents.some((d) => d.id === jsId);
    });

    const office = await (await browser.newContext()).newPage();
    await signIn(office, server.url, "office");
    await office.goto(server.url + "/office");
    await waitForInbox(office, ["网页用户 42 | 网页提交：发票抬头开错了。"]);

    // A JS edit reaches the wasm client live.
    handle.change((d) => A.updateText(d, ["description"], "网页提交：发票抬头开错了，请重开。"));
    await waitForInbox(office, ["网页用户 42 | 网页提交：发票抬头开错了，请重开。"]);

    // The wasm tablet captures a record; JS fetches it by id.
    const tablet = await (await browser.newContext()).newPage();
    await signIn(tablet, server.url, "field-north");
    await tablet.waitForSelector('[data-testid="sync-status"][data-status="online"]');
    await capture(tablet, { channel: "store_box", nickname: "刘女士", description: "试吃区没有垃圾桶。" });
    const wasmId = await tablet.locator('[data-testid="record"]').first().getAttribute("data-doc-id");
    await waitFor("the relay to store the wasm record", async () => {
      const feed = await (await fetch(`${server.url}/api/documents?after=0`, { headers: { authorization: `Bearer ${token}` } })).json();
      return feed.documents.some((d) => d.id === wasmId);
    });
    const found = await repo.find(wasmId);
    const doc = found.doc();
    assert.equal(String(doc.customer), "刘女士");
    assert.equal(String(doc.description), "试吃区没有垃圾桶。");
    assert.equal(Number(doc.schemaVersion), 2);

    // A wasm edit reaches the JS client; a JS edit reaches the tablet.
    const item = tablet.locator(`[data-testid="record"][data-doc-id="${wasmId}"]`);
    await item.locator('[data-testid="edit"]').click();
    await item.locator('[data-testid="edit-description"]').fill("试吃区没有垃圾桶和纸巾。");
    await item.locator('[data-testid="save-edit"]').click();
    await waitFor("the JS client to see the wasm edit", () => String(found.doc().description) === "试吃区没有垃圾桶和纸巾。");
    found.change((d) => A.updateText(d, ["description"], "试吃区没有垃圾桶和纸巾，已反馈店长。"));
    await waitForRecords(tablet, ["刘女士 | 试吃区没有垃圾桶和纸巾，已反馈店长。"]);
    await tablet.screenshot({ path: `${SCREENSHOTS}/interop-tablet.png`, fullPage: true });
  } finally {
    await repo.shutdown();
    await browser.close();
    await server.stop();
  }
});

test("a document asked for before it reaches the relay is delivered when it arrives", { timeout: 60_000 }, async () => {
  const server = await startServer(tempDir("closeloop-asked-early-"), await freePort());
  const token = await tokenFor(server.url, "office");
  const syncUrl = `${server.url.replace("http", "ws")}/sync?token=${encodeURIComponent(token)}`;
  // A creates a record while not yet connected; B asks for it first.
  const creator = new Repo({ network: [] });
  const asker = new Repo({ network: [new WebSocketClientAdapter(syncUrl)] });
  try {
    const created = creator.create({
      schemaVersion: 2,
      receivedAt: new Date(),
      capturedBy: new A.ImmutableString("office"), // the token's user: the relay accepts no other author
      channel: new A.ImmutableString("web_form"),
      source: new A.ImmutableString("external_customer"),
      customer: new A.ImmutableString("网页用户 7"),
      description: "先问后建：活动报名页打不开。",
      solution: "",
      aspects: {},
      attachments: [],
      history: [],
      log: [],
    });
    const asked = await asker.find(created.documentId, { allowableStates: ["ready", "unavailable"] });
    assert.equal(asked.state, "unavailable", "the relay does not have it yet");

    const started = Date.now();
    creator.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(syncUrl));
    await waitFor("the asker to receive the record", () => asked.state === "ready" && asked.doc()?.description);
    console.log(`delivered ${Date.now() - started} ms after its creator connected`);
    assert.equal(String(asked.doc().description), "先问后建：活动报名页打不开。");
  } finally {
    await creator.shutdown();
    await asker.shutdown();
    await server.stop();
  }
});
