// Starting the two relays compared by `cargo xtask bench compare` (and the
// frame diagnosis), and reading their CPU time and memory from /proc. Every
// server started here is killed when the script exits, however it exits.
import { fork, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../e2e/support.mjs";

const SERVER_BIN = process.env.CLOSELOOP_SERVER_BIN ?? "target/release-server/closeloop-server";
const PASSWORD = "bench-password-2026";
/** The head-office account every client of ours signs in as. */
export const USER = "bench-office";
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

export function log(...args) {
  console.error(`[bench ${new Date().toISOString().slice(11, 23)}]`, ...args);
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every server process started, killed on any exit of this script. */
const children = new Set();
export function killAll() {
  for (const p of children) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  children.clear();
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}: stopping servers`);
    killAll();
    process.exit(130);
  });
}
process.on("uncaughtException", (e) => {
  console.error("bench: uncaught", e);
  killAll();
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  console.error("bench: unhandled rejection", e);
  killAll();
  process.exit(1);
});

/** A Node child (IPC channel open), killed with the servers on exit. */
export function forkTracked(script, args, options) {
  return track(fork(script, args, options));
}

export function spawnTracked(cmd, args, options) {
  return track(spawn(cmd, args, options));
}

function track(proc) {
  children.add(proc);
  let exited = false;
  proc.once("exit", () => {
    exited = true;
    children.delete(proc);
  });
  return {
    proc,
    get exited() {
      return exited;
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

/** What the bench's server asks for on `/metrics`. */
const METRICS_TOKEN = "bench-metrics";

/** closeloop-server on a fresh data directory, a head-office user, its token. */
export async function startOurs(dir) {
  const dataDir = join(dir, "data");
  const distDir = join(dir, "dist");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(distDir, { recursive: true });
  writeFileSync(join(distDir, "index.html"), "<!doctype html><title>bench</title>\n");
  const add = spawnSync(
    SERVER_BIN,
    ["--data-dir", dataDir, "--log", "warn", "user", "add", USER, "--role", "head_office"],
    { env: { ...process.env, CLOSELOOP_PASSWORD: PASSWORD }, encoding: "utf8", timeout: 60_000 },
  );
  if (add.status !== 0) throw new Error(`user add failed: ${add.error ?? add.stderr}`);
  const port = await freePort();
  const child = spawnTracked(
    SERVER_BIN,
    // Every bench client uses one token: lift the per-user socket limit.
    ["--port", String(port), "--data-dir", dataDir, "--dist-dir", distDir, "--log", "warn", "--metrics-token", METRICS_TOKEN, "--sockets-per-user", "10000"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exited) throw new Error("closeloop-server exited during start-up");
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("closeloop-server not healthy after 30 s");
    await sleep(100);
  }
  const r = await fetch(`${url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: USER, password: PASSWORD }),
  });
  if (!r.ok) throw new Error(`login: HTTP ${r.status}`);
  const { token } = await r.json();
  return {
    name: "closeloop-server",
    pid: child.proc.pid,
    httpUrl: url,
    metricsToken: METRICS_TOKEN,
    wsUrl: `ws://127.0.0.1:${port}/sync?token=${encodeURIComponent(token)}`,
    stop: () => child.stop(),
  };
}

/** The reference sync server on a fresh NodeFS directory. */
export async function startReference(dir) {
  const port = await freePort();
  const script = new URL("./reference-server.mjs", import.meta.url).pathname;
  const child = spawnTracked(process.execPath, [script, String(port), join(dir, "data")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("reference server not listening after 30 s")), 30_000);
    let out = "";
    child.proc.stdout.on("data", (b) => {
      out += b;
      if (out.includes("listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`reference server exited during start-up (${code})`));
    });
  });
  child.proc.stdout.resume();
  return {
    name: "automerge-repo reference",
    pid: child.proc.pid,
    wsUrl: `ws://127.0.0.1:${port}`,
    stop: () => child.stop(),
  };
}

// ------------------------------------------------------------ measuring
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
export function statusKb(pid, key) {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : 0;
}
export function rssSampler(pid) {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, statusKb(pid, "VmRSS"));
    } catch {
      // process gone
    }
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    /** The resident memory now, in MB, for the progress log. */
    nowMb() {
      try {
        const mb = (key) => (statusKb(pid, key) / 1024).toFixed(0);
        return `${mb("VmRSS")} (peak so far ${mb("VmHWM")})`;
      } catch {
        return "?";
      }
    },
    stop() {
      clearInterval(timer);
      sample();
      try {
        peak = Math.max(peak, statusKb(pid, "VmHWM"));
      } catch {
        // process gone
      }
      return peak;
    },
  };
}

