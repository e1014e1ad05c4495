//! Helpers shared by the integration tests: where MNIST lives and small training runs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use digits_core::idx::{self, Labelled, Split};
use digits_train::augment::Augment;
use digits_train::optim::{OptimizerKind, Schedule};
use digits_train::train::TrainConfig;

/// `data/mnist` at the workspace root (or `$DIGITS_DATA`). The README's test command fetches it;
/// a missing data set is a failure with instructions, never a silent skip.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("DIGITS_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"));
    assert!(
        dir.join("t10k-labels-idx1-ubyte").exists()
            || dir.join("t10k-labels-idx1-ubyte.gz").exists(),
        "MNIST is not in {}: run scripts/fetch-mnist.sh first",
        dir.display()
    );
    dir
}

pub fn train_set() -> Labelled {
    idx::load_split(&data_dir(), Split::Train).expect("MNIST training set")
}

pub fn test_set() -> Labelled {
    idx::load_split(&data_dir(), Split::Test).expect("MNIST test set")
}

pub fn config(arch: &str, epochs: usize, threads: usize) -> TrainConfig {
    TrainConfig {
        arch: arch.to_string(),
        epochs,
        batch: 64,
        lr: 0.005,
        seed: 7,
        threads,
        optimizer: OptimizerKind::Adamw,
        schedule: Schedule::Onecycle,
        weight_decay: 5e-4,
        smoothing: 0.0,
        augment: Augment::DEFAULT,
        pen: 0.0,
        pen_warp: false,
        average_last: 0,
        not_digits: 0.0,
        progress: false,
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `digits` with `args` from the workspace root.
pub fn digits(args: &[&str]) -> Output {
    digits_in(&root(), args)
}

/// Runs `digits` with `args` from `dir`.
pub fn digits_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_digits"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run digits")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An error, not a panic (exit code 101) or a crash, whose message contains `expected`.
pub fn fails_with(out: &Output, expected: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(
        stderr(out).contains(expected),
        "{expected:?} not in: {}",
        stderr(out)
    );
}

/// A fresh temporary directory for one test (tests run in parallel: give each its own name).
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("digits-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The largest difference between the trainer's probabilities for `images` and tract's on
/// the network's exported `model`.
pub fn tract_difference(
    net: &digits_train::net::Network,
    model: &digits_core::model::Model,
    images: &[f32],
) -> f32 {
    let ours = net.predict(images);
    let theirs: Vec<f32> = model
        .predict(images)
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}
