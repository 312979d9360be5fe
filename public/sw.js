// Closeloop service worker: keeps the app shell so the PWA starts offline.
// Network first (so a new build is picked up at once when online), cache as
// the fallback. The shell's files are found by reading index.html, so no
// list needs updating when Trunk's output changes. Sync (/sync) and the API
// (/api) are never cached: records live in IndexedDB, not here.
const CACHE = "closeloop-shell-v1";

async function precache() {
  const cache = await caches.open(CACHE);
  const index = await fetch("/index.html", { cache: "no-cache" });
  if (!index.ok) throw new Error("index.html: HTTP " + index.status);
  const html = await index.clone().text();
  const urls = new Set(["/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png"]);
  for (const m of html.matchAll(/(?:href|src)="(\/[^"]*)"/g)) urls.add(m[1]);
  await cache.put("/index.html", index);
  await cache.put("/", (await cache.match("/index.html")).clone());
  await cache.addAll([...urls]);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sync") return;
  event.respondWith(networkFirst(req));
});

async function networkFirst(req) {
  const cache = await caches.open(CACHE);
  try {
    const resp = await fetch(req);
    if (resp.ok) cache.put(req.mode === "navigate" ? "/index.html" : req, resp.clone());
    return resp;
  } catch (err) {
    const key = req.mode === "navigate" ? "/index.html" : req;
    const hit = await cache.match(key, { ignoreSearch: req.mode === "navigate" });
    if (hit) return hit;
    throw err;
  }
}
