// Closeloop service worker: keeps the app shell so the PWA starts offline.
// Network first (so a new build is picked up at once when online), cache as
// the fallback. The shell's files are found by reading index.html, so no
// list needs updating when Trunk's output changes; their names carry a
// content hash, so each version's files are cached apart, and those of an
// older version go once a newer index.html was fetched. Sync (/sync) and the
// API (/api) are never cached: records live in IndexedDB, not here.
const CACHE = "closeloop-shell-v1";

const ALWAYS = ["/", "/index.html", "/sw.js", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png"];

/** The files an index.html names, with those every version has. */
function shellOf(html) {
  const urls = new Set(ALWAYS);
  for (const m of html.matchAll(/(?:(?:href|src)=|module_or_path: )["'](\/[^"']*)["']/g)) urls.add(m[1]);
  return urls;
}

async function precache() {
  const cache = await caches.open(CACHE);
  const index = await fetch("/index.html", { cache: "no-cache" });
  if (!index.ok) throw new Error("index.html: HTTP " + index.status);
  const urls = shellOf(await index.clone().text());
  await cache.put("/index.html", index);
  await cache.put("/", (await cache.match("/index.html")).clone());
  await cache.addAll([...urls].filter((u) => u !== "/" && u !== "/index.html" && u !== "/sw.js"));
}

/**
 * After a newer index.html arrived: caches every file it names (so the new
 * version starts offline too), then drops those no version needs any more.
 * Offline half-way, nothing is dropped.
 */
async function refresh(cache, html) {
  const keep = shellOf(html);
  for (const url of keep) {
    if (url === "/" || url === "/index.html" || url === "/sw.js" || (await cache.match(url))) continue;
    const resp = await fetch(url);
    if (!resp.ok) return;
    await cache.put(url, resp);
  }
  for (const req of await cache.keys()) {
    if (!keep.has(new URL(req.url).pathname)) await cache.delete(req);
  }
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
  event.respondWith(networkFirst(req, event));
});

async function networkFirst(req, event) {
  const cache = await caches.open(CACHE);
  try {
    const resp = await fetch(req);
    if (resp.ok) {
      const index = req.mode === "navigate" || new URL(req.url).pathname === "/index.html";
      await cache.put(index ? "/index.html" : req, resp.clone());
      if (index) event.waitUntil(resp.clone().text().then((html) => refresh(cache, html)).catch(() => {}));
    }
    return resp;
  } catch (err) {
    const key = req.mode === "navigate" ? "/index.html" : req;
    const hit = await cache.match(key, { ignoreSearch: req.mode === "navigate" });
    if (hit) return hit;
    throw err;
  }
}
