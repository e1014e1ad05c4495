//! `digits-web`: the page. Draw a digit with a finger, pen or mouse; the strokes are recorded as
//! points (the canvas is never read back), preprocessed MNIST-style in Rust (`digits-core`) and
//! classified by the shipped ONNX model with tract, live, at most once per animation frame.
//!
//! Stable hooks for tests: canvas `#pad` (with `data-strokes`, the number of strokes),
//! `#prediction[data-digit]`, buttons `#clear`, `#undo`.

/// Images per run of the page's model plan. tract optimizes a fixed shape better, and one image
/// at a time is the fastest per image (live drawing is one image; the test-set check runs them
/// one by one in workers). The wasm == native parity test loads the model the same way.
pub const MODEL_BATCH: usize = 1;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod offline;
pub mod pad;
#[cfg(target_arch = "wasm32")]
mod parallel;
#[cfg(target_arch = "wasm32")]
mod report;
pub mod text;

#[cfg(target_arch = "wasm32")]
mod worker;

#[cfg(target_arch = "wasm32")]
pub use app::{benchmark_prediction, start};
#[cfg(target_arch = "wasm32")]
pub use worker::Evaluator;
