// A training worker (a module worker): boots the trainer's wasm module and hands every message
// from the page to it. The loop and the message format are Rust (crates/train-web/src/worker.rs,
// protocol.rs).
import init, { on_message } from './digits-train-web.js';

const ready = init();
self.onmessage = ({ data }) => {
  ready.then(
    () => on_message(data),
    (e) => self.postMessage({ kind: 'failed', message: `the trainer did not load in a worker (${e.message ?? e})` }),
  );
};
