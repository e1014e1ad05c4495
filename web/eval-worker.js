// A module worker for the page's in-browser check of the MNIST test set. A relay: it boots the
// page's own wasm module (sent already compiled, as `module`) and hands the message to it; the
// loop and the message format are Rust (crates/web/src/worker.rs, protocol.rs).
// scripts/post-build.mjs writes the wasm-bindgen module's file name in place of the marker.
import { initSync, check_slice } from '__DIGITS_GLUE__';

self.onmessage = ({ data }) => {
  initSync({ module: data.module });
  check_slice(data);
};
