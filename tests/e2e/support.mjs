// Helpers for the end-to-end tests: the real server binary on a free
// loopback port with its own data directory, and Debian's Chromium.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const SERVER_BIN = process.env.CLOSELOOP_SERVER_BIN ?? "target/debug/closeloop-server";
const DIST_DIR = process.env.CLOSELOOP_DIST_DIR ?? "dist";
/** Screens as a user sees them, for `docs/` (opened and checked by a person). */
export const SCREENSHOTS = "docs/screenshots";

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A contact key file for relays sharing the end-to-end PostgreSQL database:
 * the database keeps a check of the first key it saw, so every test on it
 * uses this same (test-only) key.
 */
export function sharedContactKey() {
  const path = join(tempDir("closeloop-keys-"), "contact.key");
  writeFileSync(path, "e2e0".repeat(16) + "\n", { mode: 0o600 });
  return path;
}

/** Password of every end-to-end test user. */
export const PASSWORD = "e2e-password-2026";

/** Users created with `closeloop-server user add` in every fresh data directory. */
const USERS = [
  ["field-north", "field_staff", "north"],
  ["field-north-2", "field_staff", "north"],
  ["field-south", "field_staff", "south"],
  ["office", "head_office", null],
  ["supervisor", "supervisor", null],
  ["admin", "admin", null],
];

/** `--data-dir` and, for a shared PostgreSQL database, `--database`. */
function storageArgs(dataDir, database) {
  return database ? ["--data-dir", dataDir, "--database", database] : ["--data-dir", dataDir];
}

function addUsers(dataDir, database) {
  const marker = join(dataDir, "e2e-users-added");
  if (existsSync(marker)) return;
  for (const [name, role, team] of USERS) {
    const args = [...storageArgs(dataDir, database), "--log", "warn", "user", "add", name, "--role", role];
    if (team) args.push("--team", team);
    const r = spawnSync(SERVER_BIN, args, { env: { ...process.env, CLOSELOOP_PASSWORD: PASSWORD }, encoding: "utf8" });
    // A database shared by several relays already has them after the first.
    if (r.status !== 0 && !r.stderr.includes("already exists")) {
      throw new Error(`user add ${name} failed: ${r.stderr}`);
    }
  }
  writeFileSync(marker, "");
}

/** Signs a page in through the login form and waits until it syncs. */
export async function signIn(page, url, username) {
  await page.goto(url + "/login");
  await page.fill('[data-testid="username"]', username);
  await page.fill('[data-testid="password"]', PASSWORD);
  await page.screenshot({ path: `${SCREENSHOTS}/login.png` });
  await page.click('[data-testid="sign-in"]');
  await page.waitForSelector(`[data-testid="signed-in-as"]:has-text("${username}")`);
}

/**
 * Signs a tablet in and waits until it syncs and the service worker
 * controls the page, so it can start offline from then on.
 */
export async function signInTablet(page, url, username) {
  await signIn(page, url, username);
  await page.waitForSelector('[data-testid="sync-status"][data-status="online"]');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
}

/** A session token for non-browser clients. */
export async function tokenFor(url, username) {
  const r = await fetch(url + "/api/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  if (!r.ok) throw new Error(`login ${username}: HTTP ${r.status}`);
  return (await r.json()).token;
}

/**
 * Runs `closeloop-server … user ARGS` on a data directory (what an operator
 * does from a shell, in another process than the server); its output, or
 * an error when it fails.
 */
export function userCommand(dataDir, ...args) {
  const r = spawnSync(SERVER_BIN, ["--data-dir", dataDir, "--log", "warn", "user", ...args], {
    env: { ...process.env, CLOSELOOP_PASSWORD: PASSWORD },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`user ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Seeds `records` realistic records of the last 90 days (`closeloop-server seed`). */
export function seedRecords(dataDir, records, seed = 7) {
  const r = spawnSync(SERVER_BIN, ["--data-dir", dataDir, "--log", "warn", "seed", "--records", String(records), "--seed", String(seed)], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`seed failed: ${r.stderr}`);
}

/**
 * Starts closeloop-server and waits until /healthz answers (30 s at most);
 * `database` (a postgres:// URL) replaces SQLite in the data directory;
 * `extraArgs` are added to the command line (e.g. `--metrics-token`);
 * `distDir` serves another build of the PWA.
 */
export async function startServer(dataDir, port, { database, extraArgs = [], distDir = DIST_DIR } = {}) {
  addUsers(dataDir, database);
  const proc = spawn(
    SERVER_BIN,
    ["--port", String(port), ...storageArgs(dataDir, database), "--dist-dir", distDir, "--log", "warn", ...extraArgs],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  let exited = false;
  proc.once("exit", () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`closeloop-server exited during start-up (port ${port})`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("closeloop-server did not become healthy in 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dataDir,
    port,
    /** SIGKILL: no chance to flush or shut down. */
    async kill() {
      if (exited) return;
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await done;
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}

export async function launchBrowser() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A 2×2 PNG, a photo or screenshot to attach. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPgL8sDIgYIBQAZJgPNYghy3gAAAABJRU5ErkJggg==",
  "base64",
);

/**
 * Head office registers a phone complaint received 20 hours ago and gives
 * it priority P0 (2 hours to first response): overdue at once.
 */
export async function registerOverdue(page, url, { nickname, description }) {
  await page.goto(url + "/office/new");
  await page.waitForSelector('[data-testid="register-form"]');
  const received = await page.evaluate(() => {
    const d = new Date(Date.now() - 20 * 3_600_000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  });
  await page.fill('[data-testid="reg-received"]', received);
  await page.fill('[data-testid="reg-nickname"]', nickname);
  await page.fill('[data-testid="reg-description"]', description);
  await page.click('[data-testid="reg-save"]');
  await page.waitForSelector("[data-record-loaded]");
  await page.click('input[name="priority"][value="P0"]');
  await page.waitForSelector('[data-testid="work-outcome"].ok');
}

/** Fills and submits the capture form, then waits for the "saved" message. */
export async function capture(page, { channel, nickname, description }) {
  await page.selectOption('[data-testid="channel"]', channel);
  await page.fill('[data-testid="nickname"]', nickname);
  await page.fill('[data-testid="description"]', description);
  await page.click('[data-testid="save"]');
  await page.waitForSelector('[data-testid="form-message"].ok');
}

/** Sorted `who | what` strings of the elements matching `items`. */
async function pairs(page, items, who, what) {
  const shown = await page.$$eval(
    items,
    (els, [w, t]) => els.map((el) => el.querySelector(w).textContent.trim() + " | " + el.querySelector(t).textContent.trim()),
    [who, what],
  );
  return shown.sort();
}

/** Polls `read` until it returns exactly `want` (sorted), `timeout` ms at most. */
async function waitForList(page, read, want, what, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const got = await read(page);
    if (JSON.stringify(got) === JSON.stringify([...want].sort())) return got;
    if (Date.now() > deadline) {
      throw new Error(`${what}: ${JSON.stringify(got)}; wanted ${JSON.stringify(want)}`);
    }
    await page.waitForTimeout(100);
  }
}

/** The records a page shows, as sorted `nickname | description` strings. */
export function shownRecords(page) {
  return pairs(page, '[data-testid="record"]', '[data-testid="record-nickname"]', '[data-testid="record-description"]');
}

/** Waits until the page shows exactly `want` (sorted strings), 20 s at most. */
export function waitForRecords(page, want, timeout = 20_000) {
  return waitForList(page, shownRecords, want, "records shown", timeout);
}

/** The head-office inbox's rows, as sorted `customer | description` strings. */
export function inboxRows(page) {
  return pairs(page, "#inbox tr[data-record-id]", ".customer", ".open-record");
}

/** Waits until the inbox shows exactly `want` (sorted strings), 20 s at most. */
export function waitForInbox(page, want, timeout = 20_000) {
  return waitForList(page, inboxRows, want, "inbox shows", timeout);
}

/**
 * Everything the page's origin keeps: every IndexedDB database, store, key
 * and value (recursively; bytes decoded as UTF-8), and localStorage.
 */
export function dumpStorage(page) {
  return page.evaluate(async () => {
    const out = [];
    const seen = new Set();
    const walk = (v) => {
      if (v === null || v === undefined) return;
      if (typeof v !== "object") return out.push(String(v));
      if (seen.has(v)) return;
      seen.add(v);
      if (v instanceof ArrayBuffer) return out.push(new TextDecoder().decode(v));
      if (ArrayBuffer.isView(v)) return out.push(new TextDecoder().decode(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)));
      if (v instanceof Blob) return out.push(`[blob ${v.size}]`);
      if (typeof CryptoKey !== "undefined" && v instanceof CryptoKey) {
        return out.push(`[CryptoKey ${v.type} ${v.algorithm.name} extractable=${v.extractable}]`);
      }
      for (const k of Object.keys(v)) {
        out.push(k);
        walk(v[k]);
      }
    };
    const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
    for (const { name } of await indexedDB.databases()) {
      const db = await request(indexedDB.open(name));
      for (const store of db.objectStoreNames) {
        out.push(`== ${name}/${store}`);
        const tx = db.transaction(store);
        walk(await request(tx.objectStore(store).getAllKeys()));
        walk(await request(tx.objectStore(store).getAll()));
      }
      db.close();
    }
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      out.push(k, localStorage.getItem(k));
    }
    return out.join("\n");
  });
}

/** The id of the first record `token`'s user sees, once the relay has stored it (10 s at most). */
export async function firstRecordId(url, token) {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/api/records`, { headers: { authorization: `Bearer ${token}` } });
    const { records } = await r.json();
    if (records.length > 0) return records[0].id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no record reached head office");
}

/**
 * Opens a record at head office (signed in as `office`) and works it to
 * resolved at `priority`; the page, and `step`, which clicks and waits for
 * the step's outcome.
 */
export async function resolveAtDesk(browser, url, id, priority) {
  const desk = await (await browser.newContext()).newPage();
  await signIn(desk, url, "office");
  await desk.goto(`${url}/office/records/${id}`);
  await desk.waitForSelector("[data-record-loaded]");
  const step = async (selector) => {
    await desk.click(selector);
    await desk.waitForSelector('[data-testid="work-outcome"].ok');
  };
  await step(`input[name="priority"][value="${priority}"]`);
  await step('[data-step="register"]');
  await desk.fill('[data-testid="assign-owner"]', "office");
  await desk.fill('[data-testid="assign-department"]', "store_ops");
  await step('[data-step="assign"]');
  await step('[data-step="start"]');
  await step('[data-step="resolve"]');
  return { desk, step };
}
