//! `digits-train`: a convolutional network trainer written on ndarray, and its ONNX export.
//!
//! Data flows one way: IDX files (`digits_core::idx`) -> [`train`] (layers in [`layers`], network in
//! [`net`], optimizers in [`optim`], augmentation in [`augment`]) -> [`export`] (ONNX) -> the
//! report beside the model (`digits_core::report`, written by `cli`). [`import`] reads an exported
//! file back into a network, and [`finetune`] teaches it a user's handwriting
//! (`digits_core::personal`).
//!
//! The command line, its thread pool, progress bars, files and picture decoding are the `cli`
//! feature (on by default). Without it the same numerical code builds for wasm32 and trains on
//! one thread, shard after shard: the page's training workers each run shards
//! ([`train::shard`]) and their gradients are summed in shard order, as the native
//! pool does, so a run does not depend on how many threads or workers shared it.

pub mod augment;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod doubt_head;
pub mod export;
pub mod finetune;
pub mod import;
pub mod layers;
pub mod net;
#[cfg(feature = "cli")]
pub mod not_digits;
#[cfg(feature = "cli")]
pub mod numbers;
pub mod optim;
pub mod pen;
#[cfg(feature = "cli")]
pub mod predict;
pub mod rng;
pub mod spec;
#[cfg(feature = "cli")]
pub mod traces;
pub mod train;
pub mod writer;

/// The default architecture of `digits train`.
pub const DEFAULT_ARCH: &str = "conv16k3p1,bn,relu,maxpool2,conv32k3p1,bn,relu,conv32k3p1,bn,relu,maxpool2,conv64k3p1,bn,relu,gap,fc10";
/// PyTorch's examples/mnist network, for comparison.
pub const PYTORCH_ARCH: &str =
    "conv32k3,relu,conv64k3,relu,maxpool2,drop0.25,flatten,fc128,relu,drop0.5,fc10";
/// The plain fully connected network the page sets beside the CNN (`web/assets/mlp.onnx`).
pub const MLP_ARCH: &str = "flatten,fc256,relu,drop0.2,fc10";
