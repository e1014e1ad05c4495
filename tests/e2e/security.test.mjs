// Locked down and private: a strict Content-Security-Policy that the page lives within, integrity
// checks on the built files, nothing requested from any other origin, and an installable app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  shared, launchProfile, open, watch, startServer, drawMouse, drawTouch, expectDigit, DIGITS, DESKTOP, PHONE, DIST,
} from './harness.mjs';

const env = shared();

test('a strict Content-Security-Policy is declared, the page works within it, and it bites', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.deepEqual(directives['connect-src'], ["'self'"]);
  assert.deepEqual(directives['style-src'], ["'self'"]);
  assert.ok(directives['script-src'].includes("'wasm-unsafe-eval'"));
  assert.ok(!/unsafe-inline|'unsafe-eval'|\*|https?:/.test(csp), `too permissive: ${csp}`);
  // The whole page works under it (the watcher turns any violation into an error).
  await drawMouse(page, DIGITS['5']);
  await expectDigit(page, '5', 'under the CSP');
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
  assert.deepEqual(errors, []);
  // And it is enforced: a request to another origin and injected inline code are refused.
  const refused = await page.evaluate(async () => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective));
    const fetched = await fetch('https://example.com/').then(() => true, () => false);
    const s = document.createElement('script');
    s.textContent = 'window.injected = true;';
    document.head.append(s);
    await new Promise((ok) => setTimeout(ok, 200));
    return { seen, fetched, ran: window.injected === true };
  });
  assert.equal(refused.fetched, false);
  assert.equal(refused.ran, false);
  assert.ok(refused.seen.includes('connect-src'), `violations: ${refused.seen}`);
  assert.ok(refused.seen.some((d) => d.startsWith('script-src')), `violations: ${refused.seen}`);
  await context.close();
});

test('every built script, style and the wasm carry subresource integrity', async () => {
  const html = fs.readFileSync(path.join(DIST, 'index.html'), 'utf8');
  const links = [...html.matchAll(/<link rel="(stylesheet|modulepreload|preload)"[^>]*>/g)].map((m) => m[0]);
  const scripts = [...html.matchAll(/<script [^>]*src=[^>]*>/g)].map((m) => m[0]);
  assert.ok(links.length >= 2 && scripts.length >= 1, 'stylesheet, module and decompressor');
  for (const tag of [...links, ...scripts]) assert.match(tag, /integrity="sha384-[A-Za-z0-9+/=]+"/, tag);
  // The loader fetches one of the module's two builds (with or without relaxed SIMD), each with
  // the SHA-384 of its file.
  const builds = [...html.matchAll(/\['([^']+\.wasm\.xz)', '(sha384-[^']+)'\]/g)];
  assert.equal(builds.length, 2, 'two builds of the module in the loader');
  for (const [, url, hash] of builds) {
    const file = fs.readFileSync(path.join(DIST, path.basename(url)));
    assert.equal(`sha384-${crypto.createHash('sha384').update(file).digest('base64')}`, hash, url);
  }
  assert.match(html, /return fetch\(url, \{ integrity \}\)/);
  // The post-build step slimmed the first files (no comments left) and took their hashes again.
  assert.doesNotMatch(html, /<!--/);
  for (const tag of [...links, ...scripts]) {
    const [, url, hash] = tag.match(/(?:href|src)="([^"]+)"[^>]*integrity="(sha384-[^"]+)"/) ?? tag.match(/integrity="(sha384-[^"]+)"[^>]*(?:href|src)="([^"]+)"/).reverse();
    const file = fs.readFileSync(path.join(DIST, path.basename(url)));
    assert.equal(`sha384-${crypto.createHash('sha384').update(file).digest('base64')}`, hash, url);
    if (/\.(css|js)$/.test(url) && !url.includes('.min')) assert.doesNotMatch(file.toString(), /\/\*|^[ \t]+\S/m, `${url} still has comments or indentation`);
  }
  // A module that is not the one built is refused: the page says it could not start.
  const replace = {};
  for (const f of fs.readdirSync(DIST).filter((f) => f.endsWith('.wasm.xz'))) {
    const bytes = fs.readFileSync(path.join(DIST, f));
    bytes[bytes.length - 1] ^= 0xff;
    replace[f] = bytes;
  }
  assert.equal(Object.keys(replace).length, 2);
  const tampered = await startServer({ replace });
  const context = await env.browser.newContext(DESKTOP);
  const errors = await watch(context, tampered);
  const page = await context.newPage();
  await page.goto(tampered.url);
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((r) => r.name.endsWith('.wasm.xz')));
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains('wasm-ready')), false);
  assert.ok(await page.locator('#status').isVisible());
  assert.match(await page.locator('#status-text').textContent(), /could not start/);
  assert.ok(errors.some((e) => /integrity/i.test(e)), `errors: ${errors}`);
  await context.close();
  await tampered.close();
});

test('nothing leaves the page: no other origin, no other path, even while drawing on a phone', async () => {
  const mark = env.server.requests.length;
  const { context, page, errors } = await open(env.browser, env.server, PHONE);
  await drawTouch(page, DIGITS['8']);
  await expectDigit(page, '8', 'touch');
  await page.waitForSelector('html.offline-ready', { timeout: 30000 });
  // Every request the server saw is a file of the built site, under its base path.
  const site = new Set(['', ...fs.readdirSync(DIST)]);
  const base = new URL(env.server.url).pathname;
  for (const r of env.server.requests.slice(mark)) {
    assert.ok(r.startsWith(base) && site.has(r.slice(base.length)), `unexpected request ${r}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});

test('installable: a valid manifest with icons, served under the page\'s own path', async () => {
  // A real profile: Chromium offers no installation in incognito contexts.
  const context = await launchProfile(PHONE);
  const errors = await watch(context, env.server);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  await page.waitForSelector('html.offline-ready', { timeout: 30000 });
  const cdp = await context.newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  assert.deepEqual(manifest.errors, [], 'manifest errors');
  const parsed = JSON.parse(manifest.data);
  assert.equal(parsed.display, 'standalone');
  assert.equal(new URL(parsed.start_url, manifest.url).href, env.server.url);
  for (const icon of parsed.icons) {
    const url = new URL(icon.src, manifest.url).href;
    const status = await page.evaluate((u) => fetch(u).then((r) => r.status), url);
    assert.equal(status, 200, url);
  }
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);
  assert.deepEqual(errors, []);
  await context.close();
});
