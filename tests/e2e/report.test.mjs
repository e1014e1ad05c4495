// "How good is this model?": the browser checks the shipped model on all 10,000 test digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { shared, open, watch, startServer, drawMouse, waitPrediction, DIGITS, DESKTOP, PHONE, OUT, ROOT } from './harness.mjs';

const REPORT = JSON.parse(fs.readFileSync(path.join(ROOT, 'web/assets/model.report.json'), 'utf8'));
const env = shared();

async function cells(page) {
  return page.$$eval('#confusion [data-count]', (els) => els.map((e) => ({
    t: Number(e.dataset.true), p: Number(e.dataset.pred), n: Number(e.dataset.count),
  })));
}

test('the browser reproduces the report exactly, and mistakes can be explored', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  await page.locator('#report').scrollIntoViewIfNeeded();
  const t0 = Date.now();
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
  console.log(`in-browser evaluation of 10,000 test digits: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const value = Number(await page.locator('#accuracy').getAttribute('data-value'));
  assert.equal(value, REPORT.accuracy);
  const cs = await cells(page);
  assert.equal(cs.length, 100);
  assert.equal(cs.reduce((a, c) => a + c.n, 0), 10000);
  for (const c of cs) assert.equal(c.n, REPORT.confusion[c.t][c.p], `cell ${c.t},${c.p}`);
  // Beside it, the drawn-digit figure from the trainer's report, labelled as such.
  assert.ok(await page.locator('#drawn').isVisible());
  assert.equal(Number(await page.locator('#drawn-accuracy').getAttribute('data-value')), REPORT.drawn.accuracy);
  assert.match(await page.locator('#drawn-source').textContent(), /traced into pen strokes .* trainer's report, seed 1\)/);

  // The default grid is the report's samples.
  const shown = await page.$$eval('#samples [data-index]', (els) => els.map((e) => Number(e.dataset.index)));
  assert.deepEqual(shown, REPORT.samples);

  // The biggest off-diagonal cell: exactly its digits.
  const worst = cs.filter((c) => c.t !== c.p).sort((a, b) => b.n - a.n)[0];
  await page.click(`#confusion [data-true="${worst.t}"][data-pred="${worst.p}"]`);
  const picked = await page.$$eval('#samples [data-index]', (els) => els.map((e) => [e.dataset.true, e.dataset.pred]));
  assert.equal(picked.length, Math.min(worst.n, 100));
  assert.ok(picked.every(([t, p]) => Number(t) === worst.t && Number(p) === worst.p));
  assert.match(await page.locator('#samples-caption').textContent(), new RegExp(`${worst.t}s read as ${worst.p}`));
  // A diagonal cell shows correct examples, the first page of them.
  await page.click('#confusion [data-true="3"][data-pred="3"]');
  assert.equal(await page.locator('#samples [data-index]').count(), 100);
  assert.equal(await page.locator('#samples .wrong').count(), 0);
  await page.click('#samples-reset');
  assert.equal(await page.locator('#samples [data-index]').count(), REPORT.samples.length);
  assert.ok(await page.locator('#samples-reset').isHidden());
  assert.equal(await page.locator('#per-class tbody tr').count(), 10);
  // Side by side: the per-digit table under the matrix, the samples beside them.
  const box = (sel) => page.locator(sel).boundingBox();
  assert.ok((await box('#per-class')).x + 10 < (await box('#samples-figure')).x, 'table in the left column');
  assert.ok((await box('#per-class')).y > (await box('#confusion')).y, 'table under the matrix');
  await page.locator('#report').screenshot({ path: path.join(OUT, 'report-desktop.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('drawing works while the browser checks the test set (in workers), on a phone', async () => {
  const mark = env.server.requests.length;
  const { context, page, errors } = await open(env.browser, env.server, PHONE);
  // On a phone the section starts below the fold: nothing of the test set is fetched yet.
  await page.waitForTimeout(300);
  const early = env.server.requests.slice(mark).filter((r) => r.includes('t10k'));
  assert.deepEqual(early, [], 'test set fetched before it was needed');
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /Checked [\d,]+ of/.test(document.querySelector('#eval-status').textContent));
  await page.evaluate(() => window.scrollTo(0, 0));
  await drawMouse(page, DIGITS['7']);
  assert.equal(await waitPrediction(page), '7');
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
  assert.equal(Number(await page.locator('#accuracy').getAttribute('data-value')), REPORT.accuracy);
  assert.match(await page.locator('#eval-status').textContent(), /in [\d.]+ s, download included \(\d workers?\)/);
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(OUT, 'report-phone.png') });
  // One column: the matrix, then the digits a click selects, then the per-digit table.
  const top = (sel) => page.locator(sel).evaluate((e) => e.getBoundingClientRect().top + window.scrollY);
  assert.ok(await top('#confusion') < await top('#samples-figure'), 'samples below the matrix');
  assert.ok(await top('#samples-figure') < await top('#per-class'), 'per-digit table below the samples');
  // With the matrix at the bottom of the screen the grid is out of view: a click on a cell
  // brings those digits into view.
  const worst = (await cells(page)).filter((c) => c.t !== c.p).sort((a, b) => b.n - a.n)[0];
  await page.locator('#confusion').evaluate((e) => e.scrollIntoView({ block: 'end' }));
  const before = await page.locator('#samples-figure').evaluate((e) => e.getBoundingClientRect().top);
  assert.ok(before > PHONE.viewport.height - 120, `the grid starts out of view (top ${before})`);
  await page.locator(`#confusion [data-true="${worst.t}"][data-pred="${worst.p}"]`).tap();
  await page.waitForFunction(() => {
    const r = document.querySelector('#samples-figure').getBoundingClientRect();
    // At the top of the screen, or all of it on screen where the page ends too soon for that.
    return r.top >= 0 && (r.top < 40 || r.bottom <= innerHeight);
  });
  assert.equal(await page.locator('#samples [data-index]').count(), Math.min(worst.n, 100));
  assert.deepEqual(errors, []);
  await context.close();
});

test('without module workers the main thread checks in slices, and drawing stays responsive', async () => {
  const context = await env.browser.newContext(DESKTOP);
  await context.addInitScript(() => { delete globalThis.Worker; });
  const errors = await watch(context, env.server);
  const page = await context.newPage();
  await page.goto(env.server.url);
  await page.waitForSelector('html.model-ready');
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /Checked [\d,]+ of/.test(document.querySelector('#eval-status').textContent));
  await page.evaluate(() => window.scrollTo(0, 0));
  const t0 = Date.now();
  await drawMouse(page, DIGITS['7']);
  assert.equal(await waitPrediction(page), '7');
  const status = await page.locator('#eval-status').textContent();
  console.log(`drew a 7 in ${Date.now() - t0} ms during the main-thread check (${status.trim()})`);
  assert.match(status, /Checked [\d,]+ of 10,000/, 'the check was still running while drawing');
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
  assert.equal(Number(await page.locator('#accuracy').getAttribute('data-value')), REPORT.accuracy);
  assert.match(await page.locator('#eval-status').textContent(), /\(main thread\)/);
  // The page explains the fallback in the console as a warning, not an error.
  assert.deepEqual(errors, []);
  await context.close();
});

test('a damaged report is a visible line, and the browser still checks the model', async () => {
  // Valid JSON, but its figures disagree: the matrix holds 10,000 digits, the report says 9,999.
  const damaged = Buffer.from(JSON.stringify({ ...REPORT, total: REPORT.total - 1 }));
  const server = await startServer({ replace: { 'model.report.json': damaged } });
  const context = await env.browser.newContext(DESKTOP);
  const errors = await watch(context, server);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForSelector('html.model-ready');
  // The stored reports are read once the section is seen.
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /could not be read/.test(document.querySelector('#accuracy-source').textContent));
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 60000 });
  assert.equal(Number(await page.locator('#accuracy').getAttribute('data-value')), REPORT.accuracy);
  assert.equal((await cells(page)).length, 100);
  assert.deepEqual(errors, []);
  await context.close();
  await server.close();
});

test('without the model the report says why the check waits, and Retry starts it', async () => {
  const server = await startServer({ block: ['model.onnx'] });
  const context = await env.browser.newContext(DESKTOP);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(server.url);
  await page.waitForSelector('#status[data-state="error"]');
  await page.locator('#report').scrollIntoViewIfNeeded();
  assert.match(await page.locator('#eval-status').textContent(), /needs the model/);
  server.options.block = [];
  await page.click('#retry');
  await page.waitForSelector('html.model-ready');
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 60000 });
  assert.equal(Number(await page.locator('#accuracy').getAttribute('data-value')), REPORT.accuracy);
  assert.deepEqual(pageErrors, []);
  await context.close();
  await server.close();
});

test('a worker that fails hands the check to the main thread, with no unhandled errors', async () => {
  // Every check worker answers that it failed (as one that runs out of memory would).
  const failing = Buffer.from("self.onmessage = () => self.postMessage({ type: 'failed', message: 'no memory left' });\n");
  const server = await startServer({ replace: { 'eval-worker.js': failing } });
  const context = await env.browser.newContext(DESKTOP);
  const errors = await watch(context, server);
  const page = await context.newPage();
  const warnings = [];
  page.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
  await page.goto(server.url);
  await page.waitForSelector('html.model-ready');
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
  assert.equal(Number(await page.locator('#accuracy').getAttribute('data-value')), REPORT.accuracy);
  assert.match(await page.locator('#eval-status').textContent(), /\(main thread\)/);
  assert.ok(warnings.some((w) => /workers failed \(no memory left\)/.test(w)), warnings.join('\n'));
  assert.deepEqual(errors, []);
  await context.close();
  await server.close();
});

test('a gzip bomb for a test set is refused after what its header declares', async () => {
  // A header declaring the 10,000 test images, then 64 MB of zeros more: 65 KB of gzip.
  const header = Buffer.from([0, 0, 8, 3, 0, 0, 0x27, 0x10, 0, 0, 0, 28, 0, 0, 0, 28]);
  const bomb = zlib.gzipSync(Buffer.concat([header, Buffer.alloc(10000 * 784 + (64 << 20))]), { level: 9 });
  const server = await startServer({ replace: { 't10k-images-idx3-ubyte.gz': bomb } });
  const context = await env.browser.newContext(DESKTOP);
  const errors = await watch(context, server);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForSelector('html.model-ready');
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => /damaged/.test(document.querySelector('#eval-status').textContent));
  assert.match(
    await page.locator('#eval-status').textContent(),
    /The test set is damaged: t10k-images-idx3-ubyte\.gz: not valid gzip data: inflates to more than the 7840016 bytes its header declares/,
  );
  // Drawing still works.
  await page.evaluate(() => window.scrollTo(0, 0));
  await drawMouse(page, DIGITS['7']);
  assert.equal(await waitPrediction(page), '7');
  assert.deepEqual(errors, []);
  await context.close();
  await server.close();
});
