//! How the page's number reader reads the mirror writer's 60 drawings (tests/e2e/personal-style.json,
//! the personal-model test's unusual hand), each drawn alone on the pad: how many it splits into
//! more than one digit, and how many it reads right. A doubt output that splits odd single digits
//! hands their pieces to fine-tuning as samples; this is how `doubt_head::OFFSET` was checked.
//!
//! ```sh
//! cargo run --release -p digits-train --example mirror_split -- web/assets/model.onnx other.onnx
//! ```
use anyhow::Context;
use digits_core::model::Model;
use digits_core::preprocess::Stroke;
use digits_train::numbers;
use digits_train::pen::Style;
use digits_train::rng::Rng;

fn main() -> anyhow::Result<()> {
    let text = std::fs::read_to_string("tests/e2e/personal-style.json")?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let drawings = v["samples"].as_array().context("no samples")?;
    for path in std::env::args().skip(1) {
        let model = Model::from_bytes(&std::fs::read(&path)?, &path)?;
        let (mut split, mut right) = (0, 0);
        for s in drawings {
            let label = s["label"].as_u64().context("a label")? as usize;
            let strokes: Vec<Vec<[f32; 2]>> = serde_json::from_value(s["strokes"].clone())?;
            let points: Vec<Stroke> = strokes
                .iter()
                .map(|s| s.iter().map(|p| (p[0], p[1])).collect())
                .collect();
            let priors = numbers::priors(Style::Drawn);
            let (digits, _) =
                numbers::read(&model, &priors, Style::Drawn, &points, &mut Rng::new(1));
            match digits.as_slice() {
                [one] => right += usize::from(one.digit() == Some(label)),
                _ => split += 1,
            }
        }
        println!(
            "{path}: {split} of {} split, {right} read right",
            drawings.len()
        );
    }
    Ok(())
}
