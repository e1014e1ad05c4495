// The service worker: keeps one version of the whole site (page, wasm, model, test set) in a
// cache of its own, so that after one visit the page loads and predicts with the network off.
//
// This file is a template: scripts/post-build.mjs writes the built site's file list and a
// version (a hash of every file) in place of the two markers below. A new deploy therefore has
// a new version: its worker fills a new cache, waits until the page says "update" (or no page of
// the old version is open), then deletes the old cache. Each version is always served whole from
// its own cache: an old page never gets a new file, or the reverse.
const VERSION = '__DIGITS_VERSION__';
const ASSETS = __DIGITS_ASSETS__;
const CACHE = `digits-${VERSION}`;
// The MNIST test set (1.6 MB) is only for the report section, and the training set (10 MB) only
// for "Train your own": each is cached the first time its section fetches it, not at install, so
// a visitor who never scrolls there never downloads it. (The trainer's module, 0.6 MB, is cached
// at install, so that the section opens offline too.)
// The page's wasm module comes in two builds, with and without relaxed SIMD (scripts/post-build.mjs):
// this browser needs only the one its page will pick, by the same test; the other is cached only
// if it is ever fetched. Where WebAssembly is turned off, neither is (and this script must still
// run, as the page's loader does).
const WASM = __DIGITS_WASM__;
const UNUSED_WASM = typeof WebAssembly !== 'object' ? [WASM.plain, WASM.relaxed]
  : WebAssembly.validate(new Uint8Array(WASM.probe)) ? [WASM.plain] : [WASM.relaxed];
const ON_DEMAND = ASSETS.filter((a) => /^(t10k|train)-(images|labels)-/.test(a) || UNUSED_WASM.includes(a));
const AT_INSTALL = ASSETS.filter((a) => !ON_DEMAND.includes(a));
const ON_DEMAND_URLS = ON_DEMAND.map((a) => new URL(a, self.location).href);
const SHELL = new URL('./', self.location).href;
const SCOPE = new URL('./', self.location).pathname;

self.addEventListener('install', (event) => {
  // `reload`: fetch past the HTTP cache, so that no file of the previous deploy slips in.
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(AT_INSTALL.map((a) => new Request(a, { cache: 'reload' })))),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('digits-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith(SCOPE)) return;
  event.respondWith(respond(req, url));
});

async function respond(req, url) {
  const cache = await caches.open(CACHE);
  // The page itself, under any of its names, is the cached shell.
  const shell = req.mode === 'navigate' && (url.pathname === SCOPE || url.pathname === `${SCOPE}index.html`);
  const key = shell ? SHELL : url.origin + url.pathname;
  // The page asks for a fresh copy of a file (its Retry button, or a damaged model): network
  // first, and the cache learns it. Navigations always get this version's own page: a reload
  // must not mix a newer page with this version's wasm and model.
  if (!shell && (req.cache === 'reload' || req.cache === 'no-cache')) {
    try {
      const fresh = await fetch(req);
      if (fresh.ok && (await cache.match(key))) await cache.put(key, fresh.clone());
      return fresh;
    } catch (e) {
      const cached = await cache.match(key);
      if (cached) return cached;
      throw e;
    }
  }
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(req);
  if (response.ok && ON_DEMAND_URLS.includes(key)) await cache.put(key, response.clone());
  return response;
}
