//! `digits-web`: the page. Draw a digit with a finger, pen or mouse; the strokes are recorded as
//! points (the canvas is never read back), preprocessed MNIST-style in Rust (`digits-core`) and
//! classified by the shipped ONNX model with tract, live, at most once per animation frame.
//!
//! Stable hooks for tests: canvas `#pad` (with `data-strokes`, the number of strokes),
//! `#prediction[data-digit]`, buttons `#clear`, `#undo`.

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod offline;
pub mod pad;
#[cfg(target_arch = "wasm32")]
mod report;

#[cfg(target_arch = "wasm32")]
pub use app::{benchmark_prediction, start};
