//! `digits-core`: the code the trainer (native) and the page (wasm32) share.
//!
//! * [`idx`]: reading MNIST-format IDX files (raw or gzip), with errors that name the file.
//! * `files` (native only): reading a file named on the command line, regular files only and
//!   never past a limit.
//! * [`personal`]: a user's own labelled drawings (the page's corrections), kept and exported.
//! * [`preprocess`]: strokes or a picture -> the 28x28 MNIST-style image the model reads.
//! * [`model`]: loading an exported ONNX model with tract and running a batch of 28x28 images
//!   (with faster stand-ins for two of tract's ops in its plan: the `digits-plan-ops` crate).
//! * [`inside`]: the first layer's filters, layer values as images, robustness variants and
//!   occlusion maps (the page's "Inside the network").
//! * [`metrics`]: accuracy, confusion matrix, per-class precision and recall.
//! * [`report`]: the model report (`MODEL.report.json`) that the trainer writes and the command
//!   line and the page read.
//! * [`prediction`]: one image's answer taken apart (output, the digit read, the doubt).
//! * [`segment`]: a whole number from strokes or a picture, cut into digits by reading them.
//! * [`trace`]: pen strokes from a scanned digit (the drawn-digit benchmark, pen augmentation).
//! * [`svg`]: the charts (probabilities, confusion matrix, sample grid) as SVG text.
//!
//! The wasm32 build has no file system access, threads or clocks: everything here works on
//! byte slices, and the path-based helpers exist only on native targets.

#[cfg(not(target_arch = "wasm32"))]
pub mod files;
pub mod idx;
pub mod input;
pub mod inside;
pub mod layer;
pub mod metrics;
#[cfg(feature = "tract")]
pub mod model;
/// The ONNX protobuf messages: tract's own where tract is built in (one copy of the decoder in
/// the page's module), else the same prost-generated file, vendored (the trainer's module).
#[cfg(not(feature = "tract"))]
pub mod onnx_pb;
#[cfg(feature = "tract")]
pub use tract_onnx::pb as onnx_pb;
pub mod personal;
pub mod prediction;
pub mod preprocess;
pub mod report;
pub mod segment;
pub mod svg;
pub mod text;
pub mod trace;

/// Side of an MNIST image in pixels.
pub const SIDE: usize = 28;
/// Pixels in one MNIST image.
pub const PIXELS: usize = SIDE * SIDE;
/// Number of classes (digits 0 to 9).
pub const CLASSES: usize = 10;
