//! The mirror writer's drawings ([`digits_train::writer`]): the page's test of teaching it one's
//! handwriting draws them, and the command line's test fine-tunes on them.
//!
//! `cargo run --release -p digits-train --example personal_style -- [ROUNDS] [STROKES.json] [PERSONAL.json]`
//!
//! writes ROUNDS (default 6) samples of each digit as strokes in the unit square (default
//! `tests/e2e/personal-style.json`, what the page's test draws) and, if named, the same
//! samples as a personal samples file (the input of each is the page's preprocessing of its
//! strokes), for `digits finetune --personal`.

use std::path::Path;

use digits_core::idx::{self, Split};
use digits_core::personal::{Sample, Samples};
use digits_core::preprocess::strokes_to_mnist;
use digits_train::writer;

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().map_or(Ok(6), |s| s.parse())?;
    let out = args
        .get(1)
        .map_or("tests/e2e/personal-style.json", |s| s.as_str());
    let test = idx::load_split(Path::new("data/mnist"), Split::Test)?;
    let samples = writer::samples(&test, rounds, 1);
    let drawings: Vec<serde_json::Value> = samples
        .iter()
        .map(|(label, strokes)| {
            let s: Vec<Vec<[f32; 2]>> = strokes
                .iter()
                .map(|s| s.iter().map(|&(x, y)| [round3(x), round3(y)]).collect())
                .collect();
            serde_json::json!({ "label": label, "strokes": s })
        })
        .collect();
    let text = serde_json::to_string(&serde_json::json!({
        "about": "A writer who writes every digit mirrored: cargo run --release -p digits-train --example personal_style",
        "samples": drawings,
    }))?;
    std::fs::write(out, text + "\n")?;
    println!("wrote {} drawings to {out}", samples.len());
    if let Some(personal) = args.get(2) {
        let file = Samples {
            samples: samples
                .iter()
                .filter_map(|(label, strokes)| {
                    let input = strokes_to_mnist(strokes)?;
                    let points = strokes
                        .iter()
                        .map(|s| s.iter().map(|&(x, y)| [x, y]).collect())
                        .collect();
                    Some(Sample::from_input(*label, &input, points, 0.0))
                })
                .collect(),
        };
        std::fs::write(personal, file.to_json())?;
        println!("wrote {} samples to {personal}", file.len());
    }
    Ok(())
}
