//! What the wasm == native training check computes: a short run of the page's default network
//! on the first MNIST training digits, stepped by hand (`digits_train::train::Run`) with its
//! shards in some number of workspaces, as the page's workers will share them. Shared by the
//! fixture tool (examples/parity_fixture.rs, native, which also writes the digits) and the test
//! (tests/training.rs, in the browser).
// Each test binary that includes `common` uses only some of it.
#![allow(dead_code)]

use digits_core::idx::{Images, Labelled};
use digits_train::augment::Augment;
use digits_train::net::Workspace;
use digits_train::optim::{OptimizerKind, Schedule};
use digits_train::train::{Run, SHARD, TrainConfig};

/// Training digits in the check.
pub const IMAGES: usize = 640;
/// Where the fixture tool writes the digits (pixels, then labels) and the native losses,
/// relative to this crate.
pub const DIGITS_FIXTURE: &str = "../../target/wasm-train-digits.bin";
pub const LOSSES_FIXTURE: &str = "../../target/wasm-train-losses.json";

pub fn config() -> TrainConfig {
    TrainConfig {
        arch: digits_train::DEFAULT_ARCH.to_string(),
        epochs: 2,
        batch: 128,
        lr: 0.005,
        seed: 3,
        threads: 1,
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

/// The digits of the fixture file (IMAGES x 784 pixels, then IMAGES labels).
pub fn digits(bytes: &[u8]) -> Labelled {
    let pixels = IMAGES * digits_core::PIXELS;
    assert_eq!(bytes.len(), pixels + IMAGES, "the fixture's size");
    Labelled {
        images: Images {
            count: IMAGES,
            rows: digits_core::SIDE,
            cols: digits_core::SIDE,
            pixels: bytes[..pixels].to_vec(),
        },
        labels: bytes[pixels..].to_vec(),
    }
}

/// The run's loss at every step (summed over the step's images), and the bits of the trained
/// weights and statistics, with its shards in `workspaces` workspaces.
pub fn run(data: &Labelled, workspaces: usize) -> (Vec<f64>, Vec<u32>) {
    let cfg = config();
    let mut run = Run::new(&cfg, data.len()).unwrap();
    let mut spaces: Vec<Workspace> = (0..workspaces)
        .map(|_| Workspace::new(&run.net, SHARD))
        .collect();
    let mut losses = Vec::new();
    for _ in 0..cfg.epochs {
        while let Some(step) = run.step_on(&mut spaces, data, &cfg.augment, None) {
            losses.push(step.unwrap().0);
        }
        run.end_epoch().unwrap();
    }
    let bits = run
        .net
        .params
        .iter()
        .chain(&run.net.state)
        .map(|v| v.to_bits())
        .collect();
    (losses, bits)
}
