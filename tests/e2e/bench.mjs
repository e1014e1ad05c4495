// Browser benchmark (not a test): in headless Chromium, the median latency of one live
// prediction (recorded strokes -> preprocessing -> inference) and what the page transfers
// before its first prediction. Prints figures; run after `trunk build --release`:
//   node tests/e2e/bench.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { launch, open, startServer, drawMouse, waitPrediction, DIGITS, DESKTOP, DIST } from './harness.mjs';

const browser = await launch();
const server = await startServer();
const { page, context } = await open(browser, server, DESKTOP);
// What the page loaded until the model was ready (the test set only follows that, by design).
const loaded = await page.evaluate(() =>
  performance.getEntriesByType('resource').map((e) => ({ name: e.name, bytes: e.encodedBodySize }))
    .filter((e) => !e.name.includes('t10k'))
    .concat([{ name: location.href, bytes: performance.getEntriesByType('navigation')[0].encodedBodySize }]));
// Time from navigation to the model being ready (download, decompression, compile, model load),
// median of five fresh visits with an empty cache.
const ready = [];
for (let i = 0; i < 5; i++) {
  const visit = await browser.newContext(DESKTOP);
  const vp = await visit.newPage();
  await vp.goto(server.url);
  await vp.waitForSelector('html.model-ready', { polling: 5 });
  ready.push(await vp.evaluate(() => performance.now()));
  await visit.close();
}
ready.sort((a, b) => a - b);
const results = {};
for (const d of ['1', '4', '8']) {
  await page.click('#clear');
  await drawMouse(page, DIGITS[d]);
  await waitPrediction(page);
  results[d] = await page.evaluate(() => window.wasmBindings.benchmark_prediction(300));
}
// The in-browser check of the test set, timed from the moment the section is in view.
const report = await browser.newContext(DESKTOP);
const rp = await report.newPage();
await rp.goto(server.url);
await rp.waitForSelector('html.model-ready');
const t0 = Date.now();
await rp.locator('#report').scrollIntoViewIfNeeded();
await rp.waitForFunction(() => document.querySelector('#accuracy').dataset.value !== '', null, { timeout: 120000 });
const evalSeconds = (Date.now() - t0) / 1000;
await report.close();
await context.close();
await browser.close();
await server.close();

const gz = (file) => zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
const files = fs.readdirSync(DIST).map((f) => path.join(DIST, f)).filter((f) => fs.statSync(f).isFile());
const firstPrediction = loaded.map((r) => path.basename(new URL(r.name).pathname) || 'index.html');
let raw = 0;
let gzipped = 0;
for (const f of files) {
  if (firstPrediction.includes(path.basename(f))) {
    raw += fs.statSync(f).size;
    // Already compressed (the xz module) goes as it is; the rest as gzip, as GitHub Pages serves it.
    gzipped += f.endsWith('.xz') ? fs.statSync(f).size : gz(f);
  }
}
// The module ships xz-compressed (scripts/post-build.mjs); its gzip size is for comparison.
const wasmXz = files.find((f) => f.endsWith('.wasm.xz'));
const wasm = execFileSync('xz', ['-dc', wasmXz], { maxBuffer: 1 << 30 });
const ms = Object.values(results).sort((a, b) => a - b);
console.log(`median live prediction latency (ms) per drawing: ${JSON.stringify(results)}; median ${ms[1].toFixed(3)} ms`);
console.log(`wasm: ${wasm.length} bytes raw, ${zlib.gzipSync(wasm, { level: 9 }).length} bytes if gzipped (-9), ${fs.statSync(wasmXz).size} bytes as shipped (xz)`);
const testSet = files.filter((f) => path.basename(f).startsWith('t10k')).reduce((a, f) => a + fs.statSync(f).size, 0);
console.log(`in-browser evaluation of the 10,000 test digits (download included): ${evalSeconds.toFixed(1)} s; test-set asset ${testSet} bytes`);
console.log(`navigation to model ready (localhost, empty cache): median ${ready[2].toFixed(0)} ms of ${ready.map((r) => r.toFixed(0)).join(', ')}`);
console.log(`before the first prediction the page loads ${firstPrediction.length} files: ${raw} bytes raw, ${gzipped} bytes as transferred (gzip, the xz module as it is)`);
