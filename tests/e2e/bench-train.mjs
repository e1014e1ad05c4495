// Benchmark of "Train your own": training throughput of the page's default network in headless
// Chromium (one worker per core, the page's default settings), beside the native trainer on the
// same machine, settings, images and thread count (and beside it built with 4-lane matrix products,
// as wasm's SIMD128 has); then a full epoch (59,000 images) in the page.
// Prints figures; asserts nothing.
//   scripts/build.sh && node tests/e2e/bench-train.mjs [--no-epoch]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launch, open, startServer, DESKTOP, DIST, ROOT } from './harness.mjs';

const fullEpoch = !process.argv.includes('--no-epoch');
const browser = await launch();
const server = await startServer();
const { page, context } = await open(browser, server, DESKTOP);
const workers = await page.evaluate(() => Math.min(Math.max(navigator.hardwareConcurrency, 1), 4));

/** One run in the page with `images` images (the other fields at their defaults). */
async function run(images) {
  await page.locator('#train').scrollIntoViewIfNeeded();
  await page.waitForSelector('#train.train-ready', { timeout: 60000 });
  await page.fill('#train-images', String(images));
  const t0 = Date.now();
  await page.click('#train-start');
  await page.waitForFunction(() => ['done', 'failed'].includes(document.querySelector('#train').dataset.state), null, { timeout: 600000 });
  const wall = (Date.now() - t0) / 1000;
  const r = await page.evaluate(() => {
    const e = document.querySelector('#train-result');
    return { accuracy: Number(e.dataset.accuracy), rate: Number(e.dataset.rate), seconds: Number(e.dataset.seconds), message: document.querySelector('#train-message').textContent };
  });
  if (!r.rate) throw new Error(`the run failed: ${r.message}`);
  return { ...r, wall };
}

await page.locator('#train').scrollIntoViewIfNeeded();
await page.waitForSelector('#train.train-ready', { timeout: 60000 });
const settings = await page.evaluate(() => ({
  batch: document.querySelector('#train-batch').value,
  lr: document.querySelector('#train-lr').value,
}));
// The first run downloads the training set; its speed is measured without the download.
const quick = await run(10000);
console.log(`page, default network, 10,000 images, batch ${settings.batch}, ${workers} workers: ${quick.rate.toFixed(0)} images/s while training; ${quick.seconds.toFixed(1)} s with the two evaluations, ${quick.wall.toFixed(1)} s from Start with the download; test accuracy ${(100 * quick.accuracy).toFixed(2)}%`);

// The native trainer, same settings, images and threads (evaluation excluded from its img/s).
function nativeRate(digits) {
  const native = spawnSync(digits, [
    'train', '--data', path.join(ROOT, 'data/mnist'), '--out', path.join(fs.mkdtempSync('/tmp/bench-train-'), 'm.onnx'),
    '--limit', '11000', '--val', '1000', '--epochs', '1', '--batch', settings.batch, '--lr', settings.lr, '--pen', '0',
    '--threads', String(workers),
  ], { encoding: 'utf8' });
  // It prints one line per epoch on stderr.
  const epochLine = (native.stderr.match(/epoch +1 .*/) ?? [''])[0];
  return { rate: Number((epochLine.match(/(\d+) img\/s/) ?? [])[1]), line: epochLine.trim() };
}
const digits = path.join(ROOT, 'target/release/digits');
if (!fs.existsSync(digits)) execFileSync('cargo', ['build', '--release', '-p', 'digits-train'], { cwd: ROOT, stdio: 'inherit' });
const native = nativeRate(digits);
console.log(`native, same settings and images, ${workers} threads: ${native.rate} images/s (${native.line})`);
console.log(`page / native = ${(quick.rate / native.rate).toFixed(2)} (target at least 0.60)`);
// The same trainer natively with the matrix products limited to what SIMD128 has: matrixmultiply
// built with MMTEST_FEATURE=sse2 takes none of its AVX, FMA or AVX-512 kernels and runs its
// portable one (4 lanes of SSE2, no fused multiply-add). Built once into target/narrow-simd (a few
// minutes), then kept up to date. How much of the gap is the width of the machine's vectors.
const narrowDir = path.join(ROOT, 'target/narrow-simd');
execFileSync('cargo', ['build', '--release', '-p', 'digits-train', '--target-dir', narrowDir], {
  cwd: ROOT, stdio: 'inherit', env: { ...process.env, MMTEST_FEATURE: 'sse2' },
});
const narrow = nativeRate(path.join(narrowDir, 'release/digits'));
console.log(`native with 4-lane matrix products (MMTEST_FEATURE=sse2), ${workers} threads: ${narrow.rate} images/s (${narrow.line})`);
console.log(`page / native with 4-lane matrix products = ${(quick.rate / narrow.rate).toFixed(2)}; that native / native = ${(narrow.rate / native.rate).toFixed(2)}`);

if (fullEpoch) {
  const epoch = await run(59000);
  console.log(`page, a full epoch (59,000 images, 1,000 held out), ${workers} workers: ${epoch.seconds.toFixed(1)} s with the two evaluations (${epoch.rate.toFixed(0)} images/s while training); test accuracy ${(100 * epoch.accuracy).toFixed(2)}% (target: under 60 s)`);
}
const size = (f) => fs.statSync(path.join(DIST, f)).size;
console.log(`trainer module: ${size('digits-train-web_bg.wasm')} bytes of wasm, ${size('digits-train-web.js')} of glue; training set ${size('train-images-idx3-ubyte.gz') + size('train-labels-idx1-ubyte.gz')} bytes (gzip IDX)`);
await context.close();
await browser.close();
await server.close();
