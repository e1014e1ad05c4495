//! Where the pad reads the wrong count of digits, and what the doubt output says there: the
//! numbers benchmark on the pad, written with the first DIGITS *training* digits (held out of
//! the doubt output's fit, as `tune_numbers` writes them: seeds 7, 8, ...), and each of the
//! first half of those digits alone.
//!
//! For every number read with too few digits (a merge) it prints each true digit's reading
//! alone, its strokes cut out of the number on the pad: the top probability (after the doubt)
//! and the doubt output's "one digit". A merge usually hides a digit the model doubts alone,
//! which the reader then prefers to read inside a neighbour. For every lone digit read as two,
//! it prints the same of the whole drawing.
//!
//! ```sh
//! cargo run --release -p digits-train --example pad_counts -- 4000 3
//! cargo run --release -p digits-train --example pad_counts -- 4000 3 other.onnx
//! ```

use anyhow::{Context, Result};
use digits_core::idx::{self, Split};
use digits_core::model::Model;
use digits_core::prediction::Prediction;
use digits_core::preprocess::{Stroke, strokes_to_mnist};
use digits_train::numbers::{self, compose, on_pad};
use digits_train::pen::Style;
use digits_train::rng::Rng;
use digits_train::traces;

/// The seed of the first drawings (`tune_numbers` reads the same numbers).
const SEED: u64 = 7;

/// A doubt output under this calls a reading "not one digit".
const DOUBTED: f32 = 0.5;

/// The model's reading of `strokes` as one digit, as the page makes its input.
fn reading(model: &Model, strokes: &[Stroke]) -> Option<Prediction> {
    let input = strokes_to_mnist(strokes)?;
    model.predictions(&input).ok()?.first().copied()
}

/// "d max 0.17 one 0.08": digit, top probability, the doubt output's "one digit".
fn shown(label: u8, p: &Prediction) -> String {
    let top = p.probabilities.iter().copied().fold(0.0f32, f32::max);
    let one = p.one_digit.map_or("-".into(), |o| format!("{o:.2}"));
    format!("{label} max {top:.2} one {one}")
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: pad_counts DIGITS SEEDS [MODEL]";
    let count: usize = args.first().context(usage)?.parse().context(usage)?;
    let seeds: u64 = args.get(1).context(usage)?.parse().context(usage)?;
    let model_path = args
        .get(2)
        .map_or(digits_train::cli::SHIPPED_MODEL, String::as_str);
    let data = std::path::Path::new(digits_train::cli::DEFAULT_DATA);
    let train = idx::load_split(data, Split::Train)?;
    let count = count.min(train.len());
    let traces = traces::load_or_trace(data, &train.images.pixels, 2)?;
    let (traces, labels) = (&traces[..count], &train.labels[..count]);
    let model = digits_train::cli::load_model(std::path::Path::new(model_path))?;
    let style = Style::Drawn;
    let priors = numbers::priors(style);
    let (mut all, mut longer, mut merges, mut hiding, mut hiding_ones) = (0, 0, 0, 0, 0);
    let (mut lone, mut split, mut split_doubted) = (0, 0, 0);
    for seed in SEED..SEED + seeds {
        for (n, members) in numbers::numbers(count, seed).iter().enumerate() {
            // The benchmark's own random stream for number n (`numbers::evaluate`); the reader
            // draws the pad first, so a copy of the stream draws the same pad.
            let mut rng = Rng::derive(seed, &[0x6e75_6d62, style as u64, n as u64]);
            let parts: Vec<&[Stroke]> = members.iter().map(|&i| traces[i].as_slice()).collect();
            let (strokes, _) = compose(&parts, &mut rng);
            let pad = on_pad(&strokes, &mut rng.clone());
            let (digits, _) = numbers::read(&model, &priors, style, &strokes, &mut rng);
            all += 1;
            if digits.len() > members.len() {
                longer += 1;
            }
            if digits.len() >= members.len() {
                continue;
            }
            merges += 1;
            let truth: String = members
                .iter()
                .map(|&i| (b'0' + labels[i]) as char)
                .collect();
            let mut line = format!(
                "seed {seed} number {n}: {truth} read {}; alone:",
                digits_core::segment::number(&digits)
            );
            // `compose` and the pad keep every digit's strokes, in order.
            let mut first = 0;
            let mut doubted = Vec::new();
            for &i in members {
                let own = &pad[first..first + traces[i].len()];
                first += traces[i].len();
                if let Some(p) = reading(&model, own) {
                    line += &format!(" {};", shown(labels[i], &p));
                    if p.one_digit.is_some_and(|o| o < DOUBTED) {
                        doubted.push(labels[i]);
                    }
                }
            }
            if !doubted.is_empty() {
                hiding += 1;
                hiding_ones += usize::from(doubted.contains(&1));
            }
            println!("{line}");
        }
        for i in 0..count / 2 {
            let mut rng = Rng::derive(seed, &[0x006f_6e65, style as u64, i as u64]);
            let (strokes, _) = compose(&[&traces[i]], &mut rng);
            let pad = on_pad(&strokes, &mut rng.clone());
            let (digits, _) = numbers::read(&model, &priors, style, &strokes, &mut rng);
            lone += 1;
            if digits.len() < 2 {
                continue;
            }
            split += 1;
            let whole = reading(&model, &pad);
            if whole.is_some_and(|p| p.one_digit.is_some_and(|o| o < DOUBTED)) {
                split_doubted += 1;
            }
            println!(
                "seed {seed} digit {i}: read {}; whole: {}",
                digits_core::segment::number(&digits),
                whole.map_or("nothing".into(), |p| shown(labels[i], &p))
            );
        }
    }
    println!(
        "{all} numbers: {merges} read with too few digits, {longer} with too many; in {hiding} of the {merges} a true digit alone is doubted (one digit < {DOUBTED}), in {hiding_ones} of them a 1"
    );
    println!(
        "{lone} lone digits: {split} read as two or more; the doubt output doubts {split_doubted} of those {split} read whole"
    );
    Ok(())
}
