// Offline after the first visit: the app shell is cached when the worker installs, and every
// other same-origin GET (LiteRT.js's WASM, the model, the phantom clip) is cached as it is
// fetched. Network first, so a newly served model or app replaces the cached one; the cache
// answers when the network is off.
const CACHE = 'edgeseg-web-v1';
const SHELL = [
  './', 'index.html', 'app.css', 'manifest.webmanifest', 'icons/icon.svg',
  'js/app.js', 'js/contract.js', 'js/model.js', 'js/sources.js', 'js/tflite.js',
  'node_modules/@litertjs/core/dist/index.js',
  'node_modules/@litertjs/wasm-utils/dist/index.js',
  'clip/phantom.json', 'clip/phantom.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(request);
      if (response.ok) await cache.put(request, response.clone());
      return response;
    } catch (err) {
      const cached = await cache.match(request, { ignoreSearch: true });
      if (cached) return cached;
      throw err;
    }
  })());
});
