// Offline and in the field: after one visit the page works with the network off; a new deploy
// replaces the old version cleanly; a damaged cached model, a reload in the middle of the model
// download, each end with a working page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {
  launch, open, watch, startServer, drawMouse, drawTouch, expectDigit, DIGITS, DESKTOP, PHONE, DIST, OUT,
} from './harness.mjs';

const REPORT = JSON.parse(fs.readFileSync(path.join(DIST, 'model.report.json'), 'utf8'));

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const accuracy = async (page) => {
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
  return Number(await page.locator('#accuracy').getAttribute('data-value'));
};

const cacheNames = (page) => page.evaluate(() => caches.keys());

test('after one visit the page loads, predicts and checks the test set with the network off', async () => {
  const server = await startServer();
  const { context, page, errors } = await open(browser, server, PHONE);
  await page.waitForSelector('html.offline-ready', { timeout: 30000 });
  assert.match(await page.locator('#offline').textContent(), /works offline/);
  // Of the module's two builds the worker keeps only the one this browser runs (relaxed SIMD).
  const cachedWasm = await page.evaluate(async () => {
    const [name] = await caches.keys();
    const keys = await (await caches.open(name)).keys();
    return keys.map((r) => r.url).filter((u) => u.endsWith('.wasm.xz'));
  });
  assert.equal(cachedWasm.length, 1, cachedWasm.join());
  assert.match(cachedWasm[0], /\/digits-web-relaxed-[0-9a-f]{16}_bg\.wasm\.xz$/);
  // The report section fetches the test set through the worker, which keeps it.
  assert.equal(await accuracy(page), REPORT.accuracy);
  // The network goes: DevTools' offline mode for the page, and the server itself stops.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  await server.close();
  await page.reload();
  await page.waitForSelector('html.model-ready', { timeout: 30000 });
  await drawTouch(page, DIGITS['4']);
  await expectDigit(page, '4', 'offline');
  assert.equal(await accuracy(page), REPORT.accuracy, 'the check runs offline too');
  await page.screenshot({ path: path.join(OUT, 'offline-phone.png') });
  // The browser's failed check for a newer worker is expected offline; nothing else.
  assert.deepEqual(errors.filter((e) => !/ServiceWorker|sw\.js/.test(e)), []);
  await context.close();
});

// The worker's script itself, in Node: what its install step caches, in a browser with
// WebAssembly and in one where it is turned off (the script must still run there).
test('the worker caches the one wasm build its browser runs, and none without WebAssembly', async () => {
  const source = fs.readFileSync(path.join(DIST, 'sw.js'), 'utf8');
  const wasm = JSON.parse(source.match(/^const WASM = (.*);$/m)[1]);
  const install = async (withWasm) => {
    const listeners = {};
    const cached = [];
    const context = {
      URL,
      // Relative, as the worker's install names its files (a browser resolves them against it).
      Request: class { constructor(url) { this.url = url; } },
      self: { location: new URL('https://example.test/digits/sw.js'), addEventListener: (type, f) => { listeners[type] = f; } },
      caches: { open: async () => ({ addAll: async (requests) => { cached.push(...requests.map((r) => r.url)); } }) },
    };
    vm.createContext(context);
    if (!withWasm) vm.runInContext('delete globalThis.WebAssembly', context);
    vm.runInContext(source, context, { filename: 'sw.js' });
    let done;
    listeners.install({ waitUntil: (p) => { done = p; } });
    await done;
    return cached;
  };
  const runs = WebAssembly.validate(new Uint8Array(wasm.probe)) ? wasm.relaxed : wasm.plain;
  const withWasm = await install(true);
  assert.deepEqual(withWasm.filter((f) => f.endsWith('.wasm.xz')), [runs]);
  assert.ok(withWasm.includes('model.onnx') && withWasm.includes('./'), withWasm.join());
  const without = await install(false);
  assert.deepEqual(without.filter((f) => f.endsWith('.wasm.xz')), []);
  assert.deepEqual(without, withWasm.filter((f) => !f.endsWith('.wasm.xz')));
});

test('after a deploy, the old version keeps working whole, then updates cleanly on request', async () => {
  const server = await startServer();
  const { context, page, errors } = await open(browser, server, DESKTOP);
  await page.waitForSelector('html.offline-ready', { timeout: 30000 });
  const [oldCache] = await cacheNames(page);
  assert.match(oldCache, /^digits-[0-9a-f]{16}$/);
  // A deploy: a changed page and a new worker version.
  const sw = fs.readFileSync(path.join(DIST, 'sw.js'), 'utf8');
  const html = fs.readFileSync(path.join(DIST, 'index.html'), 'utf8');
  server.options.replace = {
    'sw.js': Buffer.from(sw.replace(/const VERSION = "[^"]+"/, 'const VERSION = "next-deploy"')),
    'index.html': Buffer.from(html.replace('<title>Digits', '<title>Digits (next deploy)')),
  };
  await page.reload();
  await page.waitForSelector('html.model-ready');
  assert.doesNotMatch(await page.title(), /next deploy/, 'the old version is served whole from its cache');
  await page.waitForSelector('#update:not([hidden])', { timeout: 30000 });
  await page.locator('#update').screenshot({ path: path.join(OUT, 'update-banner.png') });
  await drawMouse(page, DIGITS['2']);
  await expectDigit(page, '2', 'old version, new one waiting');
  await Promise.all([page.waitForEvent('load'), page.click('#update-reload')]);
  await page.waitForSelector('html.model-ready');
  assert.match(await page.title(), /next deploy/);
  assert.deepEqual(await cacheNames(page), ['digits-next-deploy'], 'the old cache is gone');
  assert.ok(await page.locator('#update').isHidden());
  await drawMouse(page, DIGITS['9']);
  await expectDigit(page, '9', 'new version');
  assert.deepEqual(errors, []);
  await context.close();
  await server.close();
});

test('a damaged model in the cache is replaced from the network', async () => {
  const server = await startServer();
  const { context, page, errors } = await open(browser, server, DESKTOP);
  await page.waitForSelector('html.offline-ready', { timeout: 30000 });
  const damage = () => page.evaluate(async () => {
    const [name] = await caches.keys();
    const cache = await caches.open(name);
    await cache.put(new URL('model.onnx', location.href).href, new Response('damaged in storage'));
  });
  const cachedSize = () => page.evaluate(async () => {
    const [name] = await caches.keys();
    const hit = await (await caches.open(name)).match(new URL('model.onnx', location.href).href);
    return (await hit.arrayBuffer()).byteLength;
  });
  await damage();
  await page.reload();
  await page.waitForSelector('html.model-ready');
  await drawMouse(page, DIGITS['6']);
  await expectDigit(page, '6', 'after repairing the model');
  assert.equal(await cachedSize(), fs.statSync(path.join(DIST, 'model.onnx')).size, 'the cache holds the good model again');
  // Damaged and no network to repair it from: a clear message and a Retry that works later.
  await damage();
  server.options.block = ['model.onnx'];
  await page.reload();
  await page.waitForSelector('#status[data-state="error"]');
  assert.match(await page.locator('#status-text').textContent(), /model could not be loaded/i);
  server.options.block = [];
  await page.click('#retry');
  await page.waitForSelector('html.model-ready');
  await drawMouse(page, DIGITS['6']);
  await expectDigit(page, '6', 'after Retry');
  assert.deepEqual(errors.filter((e) => !/404/.test(e)), []);
  await context.close();
  await server.close();
});

test('a reload in the middle of the model download ends with a working page', async () => {
  const server = await startServer({ stall: { 'model.onnx': 2000 } });
  const context = await browser.newContext(PHONE);
  const errors = await watch(context, server);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForSelector('html.wasm-ready');
  while (!server.requests.some((r) => r.endsWith('model.onnx'))) await page.waitForTimeout(10);
  assert.match(await page.locator('#status-text').textContent(), /loading the model/i);
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('model-ready')), false);
  await page.reload();
  await page.waitForSelector('html.model-ready', { timeout: 30000 });
  await drawTouch(page, DIGITS['1']);
  await expectDigit(page, '1', 'after the reload');
  assert.deepEqual(errors, []);
  await context.close();
  await server.close();
});
