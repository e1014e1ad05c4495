//! Training throughput (images/s) of the default and of PyTorch's example network (the default
//! also with half the images redrawn from pen strokes, `--pen 0.5`). Inference has its own
//! benchmark, beside ONNX Runtime: `benches/inference.rs`.
//!
//! `cargo bench -p digits-train --bench throughput`. Synthetic images: speed does not depend on
//! the pixel values, and the benchmark needs no data set.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use digits_core::idx::{Images, Labelled};
use digits_core::preprocess::Stroke;
use digits_core::{CLASSES, PIXELS, SIDE};
use digits_train::augment::Augment;
use digits_train::net::Network;
use digits_train::optim::{Optimizer, OptimizerKind};
use digits_train::rng::Rng;
use digits_train::train::{self, Engine, Pen};

const BATCH: usize = 128;

fn synthetic(n: usize) -> Labelled {
    let mut r = Rng::new(1);
    Labelled {
        images: Images {
            count: n,
            rows: SIDE,
            cols: SIDE,
            pixels: (0..n * PIXELS)
                .map(|_| {
                    if r.uniform() < 0.2 {
                        (r.uniform() * 255.0) as u8
                    } else {
                        0
                    }
                })
                .collect(),
        },
        labels: (0..n).map(|i| (i % CLASSES) as u8).collect(),
    }
}

/// Strokes like a traced digit's for each of `n` images: a loop and a tail of 40 points in all,
/// varied a little.
fn synthetic_strokes(n: usize) -> Vec<Vec<Stroke>> {
    let mut r = Rng::new(2);
    (0..n)
        .map(|_| {
            let (cx, cy, rad) = (r.range(11.0, 17.0), r.range(8.0, 12.0), r.range(3.0, 5.0));
            let ring: Stroke = (0..=28)
                .map(|k| {
                    let t = std::f32::consts::TAU * k as f32 / 28.0;
                    (cx + rad * t.cos(), cy + rad * t.sin())
                })
                .collect();
            let tail: Stroke = (0..12).map(|k| (cx + rad, cy + k as f32 * 1.2)).collect();
            vec![ring, tail]
        })
        .collect()
}

fn training(c: &mut Criterion) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data = synthetic(BATCH * 8);
    let mut group = c.benchmark_group("train_step");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    let strokes = synthetic_strokes(data.len());
    let pen = Pen {
        traces: &strokes,
        share: 0.5,
        warp: false,
        not_digits: &[],
        not_digit_share: 0.0,
    };
    for (name, arch, pen) in [
        ("default", digits_train::DEFAULT_ARCH, None),
        ("default_pen0.5", digits_train::DEFAULT_ARCH, Some(pen)),
        ("pytorch_example", digits_train::PYTORCH_ARCH, None),
    ] {
        let mut net = Network::new(arch, 1).unwrap();
        let mut engine = Engine::new(&net, BATCH, threads).unwrap();
        let mut opt = Optimizer::new(
            OptimizerKind::Adamw,
            net.param_count(),
            &net.decayed(),
            5e-4,
        );
        let mut grads = vec![0.0; net.param_count()];
        let batches: Vec<Vec<u32>> = (0..8)
            .map(|b| (b * BATCH..(b + 1) * BATCH).map(|i| i as u32).collect())
            .collect();
        let mut step = 0u64;
        group.bench_function(BenchmarkId::new(name, format!("{threads} threads")), |b| {
            b.iter(|| {
                let batch = &batches[step as usize % batches.len()];
                let results =
                    engine.shards(&net, &data, batch, &Augment::DEFAULT, pen, 0.0, 1, step);
                train::combine(&results, &mut grads);
                opt.step(&mut net.params, &grads, 1e-3);
                step += 1;
            })
        });
    }
    group.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
