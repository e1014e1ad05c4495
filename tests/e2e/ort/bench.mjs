// Measures onnxruntime-web and leaves the figures in window.ortResult:
// `inferenceMs`, on one test digit (batch 1, one thread), the median of five means of 1,000 runs
// timed as one loop (the browser's clock is too coarse for one run), after 1,000 runs of
// warm-up; the check
// of the whole test set in `workers` module workers, timed like the page's (download included).
import { session, testSet, classify, PIXELS, SIDE, ort } from './common.mjs';

async function inference() {
  const [s, test] = await Promise.all([session(), testSet()]);
  const x = new Float32Array(PIXELS);
  for (let j = 0; j < PIXELS; j++) x[j] = test.images[j] / 255;
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, SIDE, SIDE]) };
  for (let i = 0; i < 1000; i++) await s.run(feeds);
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) await s.run(feeds);
    rounds.push((performance.now() - t0) / 1000);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

async function check(workers, batch) {
  const t0 = performance.now();
  const total = 10000;
  const per = Math.ceil(total / workers);
  const parts = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise((resolve, reject) => {
    const worker = new Worker('worker.mjs', { type: 'module' });
    worker.onmessage = ({ data }) => { worker.terminate(); resolve(data); };
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage({ first: w * per, count: Math.min(per, total - w * per), batch });
  })));
  const seconds = (performance.now() - t0) / 1000;
  const test = await testSet();
  let correct = 0;
  let i = 0;
  for (const part of parts) for (const d of part) correct += d === test.labels[i++] ? 1 : 0;
  return { seconds, accuracy: correct / total };
}

const params = new URLSearchParams(location.search);
const workers = Number(params.get('workers') ?? 2);
try {
  const inferenceMs = await inference();
  const one = await check(workers, 1);
  const hundred = await check(workers, 100);
  window.ortResult = { inferenceMs, workers, check1: one, check100: hundred };
} catch (e) {
  window.ortResult = { error: String(e?.stack ?? e) };
}
