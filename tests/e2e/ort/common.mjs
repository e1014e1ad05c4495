// What the page and its workers share: ort set to one thread per session, the model, the test set.
import * as ort from './ort.wasm.min.mjs';

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;

export { ort };

export const SIDE = 28;
export const PIXELS = SIDE * SIDE;

export async function session() {
  const model = await (await fetch('model.onnx')).arrayBuffer();
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

async function gunzip(url) {
  const body = (await fetch(url)).body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(body).arrayBuffer());
}

// The MNIST test set as the page gets it (gzip IDX): images as bytes, labels.
export async function testSet() {
  const images = await gunzip('t10k-images-idx3-ubyte.gz');
  const labels = await gunzip('t10k-labels-idx1-ubyte.gz');
  return { images: images.subarray(16), labels: labels.subarray(8), count: labels.length - 8 };
}

// The digit of each of `count` images starting at `first`, `batch` images per run.
export async function classify(s, images, first, count, batch) {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const x = new Float32Array(n * PIXELS);
    const src = images.subarray((first + i) * PIXELS, (first + i + n) * PIXELS);
    for (let j = 0; j < x.length; j++) x[j] = src[j] / 255;
    const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [n, 1, SIDE, SIDE]) });
    const p = r[s.outputNames[0]].data;
    for (let k = 0; k < n; k++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (p[k * 10 + c] > p[k * 10 + best]) best = c;
      out[i + k] = best;
    }
  }
  return out;
}
