//! Which of the shipped network's features tell pieces of numbers (two digits or more, as
//! `digits train --doubt-head` fits on) from single digits: the 64 pooled values its doubt
//! output reads today, or the 64 maps of 7x7 before the pooling (where two digits side by side
//! still look like two)? A logistic regression of each (full-batch Adam, 300 steps, the same
//! weighting and ridge as `doubt_head::fit`), trained on four examples in five and judged on the
//! fifth: the share of held-out pieces caught when the threshold doubts a given share of the
//! held-out digits.
//!
//! ```sh
//! cargo run --release -p digits-train --example doubt_features -- MODEL.onnx
//! ```
//!
//! MODEL is a network ending `...,relu,gap,fc10` or `fc11`, such as the shipped file before its
//! doubt output read the maps (`git show 2429ca3:web/assets/model.onnx > pooled.onnx`); what
//! this measured is why `digits train --doubt-head` now reads the maps.
use anyhow::{Context, Result};
use digits_core::PIXELS;
use digits_core::idx::{self, Split};
use digits_train::net::{Mode, Network, Workspace};
use digits_train::pen::Style;
use digits_train::rng::Rng;
use digits_train::{doubt_head, import, not_digits, traces};
use rayon::prelude::*;
use std::path::Path;

fn acts(net: &Network, images: &[f32], layer: usize) -> Vec<f32> {
    images
        .par_chunks(256 * PIXELS)
        .map(|chunk| {
            let m = chunk.len() / PIXELS;
            let mut ws = Workspace::new(net, m);
            ws.input_mut(m).copy_from_slice(chunk);
            ws.forward(net, Mode::Eval, &mut Rng::new(0));
            ws.activation(layer).to_vec()
        })
        .collect::<Vec<_>>()
        .concat()
}

/// Logistic regression by full-batch Adam; returns weights (dim + 1).
fn fit(x: &[f32], y: &[f32], dim: usize, steps: usize, l2: f32) -> Vec<f32> {
    assert!(!y.is_empty());
    let n = y.len();
    let pos = y.iter().filter(|&&v| v > 0.5).count() as f32;
    let (wp, wn) = (0.5 / pos, 0.5 / (n as f32 - pos));
    let mut w = vec![0f32; dim + 1];
    let (mut m, mut v) = (vec![0f32; dim + 1], vec![0f32; dim + 1]);
    for t in 1..=steps {
        let g = x
            .par_chunks(dim * 1024)
            .zip(y.par_chunks(1024))
            .map(|(xs, ys)| {
                let mut g = vec![0f32; dim + 1];
                for (f, &yy) in xs.chunks_exact(dim).zip(ys) {
                    let z: f32 = f.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + w[dim];
                    let p = 1.0 / (1.0 + (-z).exp());
                    let r = (p - yy) * if yy > 0.5 { wp } else { wn };
                    for (gi, fi) in g.iter_mut().zip(f) {
                        *gi += r * fi;
                    }
                    g[dim] += r;
                }
                g
            })
            .reduce(
                || vec![0f32; dim + 1],
                |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
            );
        let lr = 0.01;
        for i in 0..=dim {
            let gi = g[i] + if i < dim { l2 * w[i] } else { 0.0 };
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.999 * v[i] + 0.001 * gi * gi;
            let mh = m[i] / (1.0 - 0.9f32.powi(t as i32));
            let vh = v[i] / (1.0 - 0.999f32.powi(t as i32));
            w[i] -= lr * mh / (vh.sqrt() + 1e-8);
        }
    }
    w
}

fn report(name: &str, x: &[f32], y: &[f32], dim: usize, w: &[f32]) {
    let z: Vec<(f32, bool)> = x
        .chunks_exact(dim)
        .zip(y)
        .map(|(f, &yy)| {
            (
                f.iter().zip(w).map(|(a, b)| a * b).sum::<f32>() + w[dim],
                yy > 0.5,
            )
        })
        .collect();
    let mut digits: Vec<f32> = z.iter().filter(|p| !p.1).map(|p| p.0).collect();
    digits.sort_by(|a, b| b.total_cmp(a));
    let pieces: Vec<f32> = z.iter().filter(|p| p.1).map(|p| p.0).collect();
    for fp in [0.0005f32, 0.0013, 0.005] {
        let th = digits[(fp * digits.len() as f32) as usize];
        let caught = pieces.iter().filter(|&&v| v > th).count() as f32 / pieces.len() as f32;
        println!(
            "{name}: doubting {:.2}% of the digits catches {:.2}% of the pieces",
            100.0 * fp,
            100.0 * caught
        );
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model] = args.as_slice() else {
        anyhow::bail!("usage: doubt_features MODEL.onnx");
    };
    let data = Path::new("data/mnist");
    let train = idx::load_split(data, Split::Train)?;
    let tr = traces::load_or_trace(data, &train.images.pixels, 2)?;
    let pieces = not_digits::make(&tr, 1, not_digits::Kinds::Merges, 2)?;
    let bytes = std::fs::read(model).with_context(|| format!("reading {model}"))?;
    let net = import::from_onnx(&bytes, model)?;
    let mut images: Vec<f32> = train
        .images
        .pixels
        .iter()
        .map(|&v| v as f32 / 255.0)
        .collect();
    for style in [Style::Drawn, Style::Picture] {
        for (i, t) in tr.iter().enumerate() {
            images.extend(style.benchmark_input(1, i, t));
        }
    }
    let nd = images.len() / PIXELS;
    images.extend(pieces.iter().map(|&v| v as f32 / 255.0));
    let n = images.len() / PIXELS;
    let mut y = vec![0f32; nd];
    y.resize(n, 1.0);
    let last = net.layers.len() - 1;
    // The layers: ..., relu (64x7x7), gap, flatten (as imported), fc11. Held out: every fifth.
    let split = |x: &[f32], dim: usize| {
        let (mut a, mut b, mut ya, mut yb) = (vec![], vec![], vec![], vec![]);
        for (i, f) in x.chunks_exact(dim).enumerate() {
            if i % 5 == 0 {
                b.extend_from_slice(f);
                yb.push(y[i]);
            } else {
                a.extend_from_slice(f);
                ya.push(y[i]);
            }
        }
        (a, ya, b, yb)
    };
    assert_eq!(
        net.layers[last - 3].output.size(),
        64 * 7 * 7,
        "{}",
        net.spec
    );
    for (name, layer) in [
        ("the 64 pooled values", last - 1),
        ("the 64 maps of 7x7", last - 3),
    ] {
        let x = acts(&net, &images, layer);
        let dim = x.len() / n;
        let (a, ya, b, yb) = split(&x, dim);
        let w = fit(&a, &ya, dim, 300, doubt_head::L2 as f32);
        report(&format!("{name}, fitted on"), &a, &ya, dim, &w);
        report(&format!("{name}, held out"), &b, &yb, dim, &w);
    }
    Ok(())
}
