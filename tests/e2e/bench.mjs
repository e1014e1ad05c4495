// Browser benchmark (not a test): in headless Chromium, the median latency of one live
// prediction (recorded strokes -> preprocessing -> inference), one live update of a digit and
// of a five-digit number (segmentation, the changed digits read again, every layer view and both
// networks of "Inside the network"), the end-of-stroke views, inference alone and where it
// spends its time (tract's plan, step by step), the in-browser check of the test set, and what
// the page transfers before its first prediction; then onnxruntime-web (npm) on the same model,
// the same test set and in the same Chromium (`ort/`), with the ratios. Prints figures; run after
// `scripts/build.sh /`:
//   node tests/e2e/bench.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import {
  launch, open, startServer, drawMouse, waitPrediction, expectNumber, numberStrokes, DIGITS, DESKTOP, DIST,
} from './harness.mjs';
import { serve } from './server.mjs';

// The onnxruntime-web release set beside the page.
const ORT_WEB = '1.30.0';

const browser = await launch();
const server = await startServer();
const { page, context } = await open(browser, server, DESKTOP);
// What the page loaded until the model was ready (the test set only follows that, by design).
const loaded = await page.evaluate(() =>
  performance.getEntriesByType('resource').map((e) => ({ name: e.name, bytes: e.encodedBodySize }))
    .filter((e) => !e.name.includes('t10k'))
    .concat([{ name: location.href, bytes: performance.getEntriesByType('navigation')[0].encodedBodySize }]));
// Which build of the module the page chose (scripts/post-build.mjs): relaxed SIMD or SIMD128 only.
const wasmChoice = await page.evaluate(() => document.documentElement.dataset.wasm);
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
// The report's check runs in workers on both cores once its section is seen (scrolling to
// "Inside the network" can show it): let it finish first, so it does not share the cores with
// the timings below.
await page.locator('#report').scrollIntoViewIfNeeded();
await page.waitForFunction(() => document.querySelector('#versus-table tr[data-model="mlp"]')?.dataset.accuracy, null, { timeout: 120000 });
const results = {};
const inference = {};
const inside = {};
let profile;
for (const d of ['1', '4', '8']) {
  await page.click('#clear');
  await drawMouse(page, DIGITS[d]);
  await waitPrediction(page);
  results[d] = await page.evaluate(() => window.wasmBindings.benchmark_prediction(300));
  // 1,000 runs of warm-up, as onnxruntime-web gets (below), then the mean of 1,000.
  inference[d] = await page.evaluate(() => {
    window.wasmBindings.benchmark_inference(1000);
    return window.wasmBindings.benchmark_inference(1000);
  });
  if (d === '4') profile = await page.evaluate(() => window.wasmBindings.profile_model(300));
  // "Inside the network": once the plain network has loaded, a live update with every layer
  // view and both networks, the views alone, and the end-of-stroke strip and occlusion map.
  // The section computes only while on screen: in view, so that every update does all of it.
  await page.locator('#layers').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#compare [data-model="mlp"]').dataset.digit !== '', null, { timeout: 30000 });
  inside[d] = await page.evaluate(() => ({
    live: window.wasmBindings.benchmark_live(300),
    views: window.wasmBindings.benchmark_inside(300),
    settle: window.wasmBindings.benchmark_settle(20),
    runs: Number(document.querySelector('#saliency').dataset.runs),
  }));
}
// Numbers: a live update of a five-digit number (the last stroke growing, the other strokes'
// readings kept, as while writing) and a reading from scratch.
const numbers = {};
for (const n of ['38015', '98765']) {
  await page.click('#clear');
  await drawMouse(page, numberStrokes(n));
  await expectNumber(page, n, `the benchmark's number ${n}`);
  await page.locator('#layers').scrollIntoViewIfNeeded();
  numbers[n] = await page.evaluate(() => ({
    live: window.wasmBindings.benchmark_live(300),
    scratch: window.wasmBindings.benchmark_prediction(100),
  }));
}
const workers = await page.evaluate(() => Math.min(Math.max(navigator.hardwareConcurrency, 1), 4));
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

// onnxruntime-web in the same browser: its files, the model and the test set in a scratch folder.
// Installed here on first use only (140 MB: the end-to-end tests do not need it).
const here = path.dirname(fileURLToPath(import.meta.url));
if (!fs.existsSync(path.join(here, 'node_modules/onnxruntime-web'))) {
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `onnxruntime-web@${ORT_WEB}`], { cwd: here, stdio: 'inherit' });
}
const scratch = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'ort-bench-'));
const ortDist = path.join(here, 'node_modules/onnxruntime-web/dist');
for (const f of ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']) {
  fs.copyFileSync(path.join(ortDist, f), path.join(scratch, f));
}
for (const f of fs.readdirSync(path.join(here, 'ort'))) fs.copyFileSync(path.join(here, 'ort', f), path.join(scratch, f));
for (const f of ['model.onnx', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
  fs.copyFileSync(path.join(DIST, f), path.join(scratch, f));
}
const ortServer = await serve(scratch);
const ortContext = await browser.newContext(DESKTOP);
const op = await ortContext.newPage();
await op.goto(`${ortServer.url}?workers=${workers}`);
await op.waitForFunction(() => window.ortResult !== undefined, null, { timeout: 300000, polling: 100 });
const ort = await op.evaluate(() => window.ortResult);
await ortContext.close();
await ortServer.close();
fs.rmSync(scratch, { recursive: true });
await browser.close();
await server.close();
if (ort.error) throw new Error(`onnxruntime-web failed: ${ort.error}`);

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
// Two builds of it (with and without relaxed SIMD); the loaded one is among the first files.
const wasmXz = files.find((f) => f.endsWith('.wasm.xz') && firstPrediction.includes(path.basename(f)));
if (!wasmXz) throw new Error('no wasm module among the files loaded before the first prediction');
const otherXz = files.find((f) => f.endsWith('.wasm.xz') && f !== wasmXz && !path.basename(f).startsWith('digits-train'));
const wasm = execFileSync('xz', ['-dc', wasmXz], { maxBuffer: 1 << 30 });
const ms = Object.values(results).sort((a, b) => a - b);
const inf = Object.values(inference).sort((a, b) => a - b);
console.log(`median live prediction latency (ms) per drawing: ${JSON.stringify(results)}; median ${ms[1].toFixed(3)} ms`);
for (const [n, t] of Object.entries(numbers)) {
  console.log(`the five-digit number ${n}: live update (with the layer views of its last digit and both networks) median ${t.live.toFixed(3)} ms (300 updates); read from scratch median ${t.scratch.toFixed(3)} ms (100 readings)`);
}
for (const [d, t] of Object.entries(inside)) {
  console.log(`drawn ${d}: live update with every layer view and both networks median ${t.live.toFixed(3)} ms (300 updates); the views alone ${t.views.toFixed(3)} ms; end of stroke (robustness strip, 16 readings, and occlusion map, ${t.runs} readings) ${t.settle.toFixed(1)} ms (median of 20)`);
}
console.log(`inference alone, mean of 1,000 runs (ms) per drawing: ${JSON.stringify(inference)}; median of the three ${inf[1].toFixed(3)} ms`);
const profTotal = profile.reduce((a, s) => a + s.seconds, 0);
console.log(`where one inference of the drawn 4 spends its time (tract's plan in the page, mean of 300 runs): ${(profTotal * 1e3).toFixed(3)} ms`);
for (const s of profile.filter((s) => s.seconds >= 0.005 * profTotal)) {
  console.log(`  ${(s.seconds * 1e6).toFixed(1).padStart(7)} µs ${(100 * s.seconds / profTotal).toFixed(1).padStart(5)}%  ${s.op.padEnd(16)} ${s.name}`);
}
console.log(`onnxruntime-web ${ortVersion()} (wasm, 1 thread), same model and browser: inference of one test digit ${ort.inferenceMs.toFixed(3)} ms (median of five means of 1,000 runs); the page's inference / onnxruntime-web's = ${(inf[1] / ort.inferenceMs).toFixed(2)}`);
for (const [name, c] of [['one image per run', ort.check1], ['100 images per run', ort.check100]]) {
  console.log(`onnxruntime-web check of the 10,000 test digits in ${ort.workers} workers, ${name}: ${c.seconds.toFixed(1)} s (download included), accuracy ${(100 * c.accuracy).toFixed(2)}%`);
}
const ortBest = Math.min(ort.check1.seconds, ort.check100.seconds);
console.log(`the page's check (${evalSeconds.toFixed(1)} s) / onnxruntime-web's best (${ortBest.toFixed(1)} s) = ${(evalSeconds / ortBest).toFixed(2)}`);
console.log(`wasm (the page chose ${wasmChoice}: ${path.basename(wasmXz)}): ${wasm.length} bytes raw, ${zlib.gzipSync(wasm, { level: 9 }).length} bytes if gzipped (-9), ${fs.statSync(wasmXz).size} bytes as shipped (xz); the other build ${otherXz ? `${fs.statSync(otherXz).size} bytes as xz` : 'missing'}`);
const testSet = files.filter((f) => path.basename(f).startsWith('t10k')).reduce((a, f) => a + fs.statSync(f).size, 0);
console.log(`in-browser evaluation of the 10,000 test digits (download included): ${evalSeconds.toFixed(1)} s; test-set asset ${testSet} bytes`);
console.log(`navigation to model ready (localhost, empty cache): median ${ready[2].toFixed(0)} ms of ${ready.map((r) => r.toFixed(0)).join(', ')}`);
console.log(`before the first prediction the page loads ${firstPrediction.length} files: ${raw} bytes raw, ${gzipped} bytes as transferred (gzip, the xz module as it is)`);

function ortVersion() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return JSON.parse(fs.readFileSync(path.join(here, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;
}
