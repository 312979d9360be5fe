// Closeloop service worker: keeps the app shell so the PWA starts offline.
// Network first (so a new build is picked up at once when online), cache as
// the fallback. The shell's files are found by reading index.html, so no
// list needs updating when Trunk's output changes; their names carry a
// content hash, so each version's files are cached apart, and those of an
// older version go once a newer index.html was fetched. Sync (/sync) and the
// API (/api) are never cached: records live in IndexedDB, not here.
// There are two builds (shared/src/bundle.rs): the tablet's, kept at install,
// and head office's (under /office/), kept once a head-office page was opened.
const CACHE = "closeloop-shell-v1";
const FIELD_INDEX = "/index.html";
const OFFICE_INDEX = "/office/index.html";

/** The index.html of the build serving a page: as Bundle::serving in shared/src/bundle.rs. */
function indexOf(path) {
  const under = (root) => path === root || path.startsWith(root + "/");
  return under("/office") || under("/admin") ? OFFICE_INDEX : FIELD_INDEX;
}

/** Said offline for a head-office page this device never opened online. */
const NOT_YET_KEPT = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Closeloop</title><main style="font:1.1rem system-ui;max-width:36rem;margin:3rem auto;padding:0 1rem">
<h1>需要联网一次</h1><p>总部页面首次打开时需要网络连接，之后离线也可使用。</p>
<h1 lang="en">Needs a connection once</h1><p lang="en">Head-office pages must be opened online once; after that they work offline too.</p>
<p><a href="/">返回现场页面 · Back to the field page</a></p></main>`;

/** Pages the server serves to customers (server/src/http/public_pages.rs). */
const CUSTOMER_PAGES = ["/s", "/feedback"];

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
  for (const url of shellOf(html)) {
    if (url === "/" || url.endsWith("/index.html") || url === "/sw.js" || (await cache.match(url))) continue;
    const resp = await fetch(url);
    if (!resp.ok) return;
    await cache.put(url, resp);
  }
  // Both builds' files stay: each index kept names its own.
  const keep = new Set([FIELD_INDEX, OFFICE_INDEX]);
  for (const index of [FIELD_INDEX, OFFICE_INDEX]) {
    const kept = await cache.match(index);
    if (kept) for (const url of shellOf(await kept.text())) keep.add(url);
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
  // The customers' pages are the server's, not the app's: never kept, and
  // never answered with (or kept as) the app's shell.
  if (CUSTOMER_PAGES.some((p) => url.pathname === p || url.pathname.startsWith(p + "/"))) return;
  if (["/survey.js", "/feedback.js", "/public-page.js", "/public-page.css"].includes(url.pathname)) return;
  event.respondWith(networkFirst(req, event));
});

async function networkFirst(req, event) {
  const cache = await caches.open(CACHE);
  try {
    const resp = await fetch(req);
    if (resp.ok) {
      const index = indexKey(req);
      await cache.put(index || req, resp.clone());
      if (index) event.waitUntil(resp.clone().text().then((html) => refresh(cache, html)).catch(() => {}));
    }
    return resp;
  } catch (err) {
    const index = indexKey(req);
    const hit = await cache.match(index || req);
    if (hit) return hit;
    if (index === OFFICE_INDEX) {
      return new Response(NOT_YET_KEPT, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
    }
    throw err;
  }
}

/** The index a request is answered with (a page, or an index.html itself), else null. */
function indexKey(req) {
  const path = new URL(req.url).pathname;
  if (path === FIELD_INDEX || path === OFFICE_INDEX) return path;
  return req.mode === "navigate" ? indexOf(path) : null;
}
