// What the browser benches share: progress on stderr, a watchdog so a hung
// server or browser cannot hold the build, and the statistics they print.

/** A progress line on stderr (stdout carries the tables). */
export function log(...args) {
  console.error(`[bench ${new Date().toISOString().slice(11, 23)}]`, ...args);
}

/** Ends the process after `limitMs`, after `cleanup()` (closing the browser). */
export function watchdog(limitMs, cleanup) {
  const timer = setTimeout(async () => {
    log(`watchdog: still running after ${limitMs / 60_000} min, giving up`);
    await cleanup().catch(() => {});
    process.exit(1);
  }, limitMs);
  timer.unref();
}

/** The value below which `p` percent of `xs` fall (nearest rank). */
export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds as printed: one decimal below 10. */
export const ms = (x) => (x < 10 ? x.toFixed(1) : Math.round(x).toString());
