// A module worker for the page's in-browser check of the MNIST test set: it instantiates the
// page's own wasm module (sent already compiled) and classifies the slice of test images it is
// given, reporting progress. scripts/post-build.mjs writes the wasm-bindgen module's file name in
// place of the marker below.
import init, { Evaluator } from '__DIGITS_GLUE__';

self.onmessage = async ({ data }) => {
  try {
    await init({ module_or_path: data.module });
    const evaluator = new Evaluator(data.model);
    const count = data.images.length / 784;
    const labels = new Uint8Array(count);
    for (let done = 0; done < count;) {
      const end = Math.min(done + data.chunk, count);
      labels.set(evaluator.classify(data.images.subarray(done * 784, end * 784)), done);
      done = end;
      self.postMessage({ type: 'progress', done });
    }
    self.postMessage({ type: 'done', labels }, [labels.buffer]);
  } catch (e) {
    self.postMessage({ type: 'error', message: String(e?.message ?? e) });
  }
};
