//! How sure the page shows the model to be, and how often it says "may not be one digit".
//!
//! For the 10,000 MNIST test digits as scans, drawn on the pad and as pictures (the benchmark's
//! drawings, seed 1): the share whose top probability is under one half, taken from the model's
//! output (what the page showed before the doubt was shown apart) and from the ten scores alone
//! (what it shows now). Then, for thresholds of the doubt output's "one digit", the share of
//! those lone digits it doubts, and of the pieces the number reader cuts from numbers of the
//! same test digits that hold two digits or more (merges) or are part of one (parts): what
//! `digits_core::model::ONE_DIGIT` was chosen on.
//!
//! ```sh
//! cargo run --release -p digits-train --example shown_confidence
//! cargo run --release -p digits-train --example shown_confidence -- other.onnx
//! ```

use anyhow::Result;
use digits_core::idx::{self, Split};
use digits_core::model::{Model, ONE_DIGIT, Prediction, to_input};
use digits_core::{CLASSES, PIXELS};
use digits_train::not_digits::{self, Kinds};
use digits_train::pen::Style;
use digits_train::traces;
use rayon::prelude::*;

/// Under this, a top probability is shown as unsure.
const HALF: f32 = 0.5;
/// The thresholds of "one digit" tried.
const THRESHOLDS: [f32; 6] = [0.5, 0.3, 0.2, 0.1, 0.05, 0.02];

fn pct(n: usize, of: usize) -> String {
    format!("{:.2}%", 100.0 * n as f64 / of.max(1) as f64)
}

/// The model's answers for `n` inputs that `input` makes, on every core.
fn predict(
    model: &Model,
    n: usize,
    input: impl Fn(usize) -> Vec<f32> + Sync,
) -> Result<Vec<Prediction>> {
    Ok((0..n)
        .collect::<Vec<_>>()
        .par_chunks(640)
        .map(|chunk| {
            let inputs: Vec<f32> = chunk.iter().flat_map(|&i| input(i)).collect();
            model.predictions(&inputs)
        })
        .collect::<Result<Vec<_>, _>>()?
        .concat())
}

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "web/assets/model.onnx".into());
    let model = Model::from_bytes_for_batch(&std::fs::read(&path)?, &path, 64)?;
    let data = std::path::Path::new("data/mnist");
    let test = idx::load_split(data, Split::Test)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let traces = traces::load_or_trace(data, &test.images.pixels, threads)?;
    println!("{path}: lone test digits with a top probability under {HALF}");
    println!("style    model's output  ten scores alone");
    let mut sets: Vec<(String, Vec<Prediction>)> = Vec::new();
    for style in [Style::Scan, Style::Drawn, Style::Picture] {
        let got = predict(&model, test.len(), |i| match style {
            Style::Scan => test.input(i),
            s => s.benchmark_input(1, i, &traces[i]),
        })?;
        let unsure = |p: &[f32; CLASSES]| p.iter().copied().fold(0.0, f32::max) < HALF;
        println!(
            "{:<8} {:>14}  {:>16}",
            style.name(),
            pct(
                got.iter().filter(|p| unsure(&p.probabilities)).count(),
                got.len()
            ),
            pct(got.iter().filter(|p| unsure(&p.digit)).count(), got.len()),
        );
        sets.push((format!("lone {}", style.name()), got));
    }
    let ones: Vec<usize> = (0..test.len()).filter(|&i| test.labels[i] == 1).collect();
    let drawn_ones = sets[1]
        .1
        .iter()
        .enumerate()
        .filter(|(i, _)| test.labels[*i] == 1);
    let drawn_ones: Vec<Prediction> = drawn_ones.map(|(_, p)| *p).collect();
    debug_assert_eq!(drawn_ones.len(), ones.len());
    sets.push(("lone drawn 1s".into(), drawn_ones));
    let merges = not_digits::make(&traces, 1, Kinds::Merges, threads)?;
    let both = not_digits::make(&traces, 1, Kinds::MergesAndParts, threads)?;
    for (name, pixels) in [("merges", &merges), ("merges and parts", &both)] {
        let n = pixels.len() / PIXELS;
        let got = predict(&model, n, |i| {
            to_input(&pixels[i * PIXELS..(i + 1) * PIXELS])
        })?;
        sets.push((format!("{name} ({n})"), got));
    }
    println!(
        "\nshare doubted as one digit (\"one digit\" under the threshold; the page's is {ONE_DIGIT})"
    );
    let header: Vec<String> = THRESHOLDS.iter().map(|t| format!("{t:>7}")).collect();
    println!("{:<26}{}", "", header.join(""));
    for (name, got) in &sets {
        let row: Vec<String> = THRESHOLDS
            .iter()
            .map(|&t| {
                let n = got
                    .iter()
                    .filter(|p| p.one_digit.is_some_and(|k| k < t))
                    .count();
                format!("{:>7}", pct(n, got.len()))
            })
            .collect();
        println!("{name:<26}{}", row.join(""));
    }
    Ok(())
}
