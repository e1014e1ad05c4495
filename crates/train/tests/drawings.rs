//! The stroke drawings the browser tests draw (tests/e2e/digits.json) are recognized by the
//! native pipeline: strokes -> digits-core preprocessing -> shipped model.

use digits_core::metrics::argmax;
use digits_core::model::Model;
use digits_core::preprocess::{Stroke, strokes_to_mnist};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn shipped_model() -> Model {
    Model::from_bytes(
        &std::fs::read(format!("{ROOT}/web/assets/model.onnx")).unwrap(),
        "model",
    )
    .unwrap()
}

#[test]
fn designed_drawings_are_recognized() {
    let model = shipped_model();
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/tests/e2e/digits.json")).unwrap(),
    )
    .unwrap();
    let mut wrong = Vec::new();
    for d in 0..10 {
        let strokes: Vec<Stroke> = json[d.to_string()]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                s.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32))
                    .collect()
            })
            .collect();
        // The page works in canvas-relative units; any scale gives the same input.
        let scaled: Vec<Stroke> = strokes
            .iter()
            .map(|s| s.iter().map(|&(x, y)| (x * 440.0, y * 440.0)).collect())
            .collect();
        let input = strokes_to_mnist(&scaled).unwrap();
        let p = model.predict(&input).unwrap()[0];
        let got = argmax(&p).unwrap();
        eprintln!("{d}: predicted {got} with p={:.3}", p[got]);
        if got != d {
            wrong.push((d, got));
        }
    }
    assert!(wrong.is_empty(), "(drawn, predicted): {wrong:?}");
}

/// The drawn-digit benchmark draws every digit from its own random stream: the same seed gives
/// the same drawings and answers on any number of threads, another seed other drawings.
#[test]
fn the_drawn_benchmark_is_the_same_for_a_seed_on_any_number_of_threads() {
    use digits_train::cli::classify_drawn;
    use digits_train::pen::Style;
    let model = shipped_model();
    let data = std::path::PathBuf::from(format!("{ROOT}/data/mnist"));
    let test = digits_core::idx::load_split(&data, digits_core::idx::Split::Test)
        .expect("MNIST: run scripts/fetch-mnist.sh first")
        .slice(0..600);
    let cache = std::env::temp_dir().join(format!("digits-bench-{}", std::process::id()));
    std::fs::create_dir_all(&cache).unwrap();
    let traces = digits_train::traces::load_or_trace(&cache, &test.images.pixels, 2).unwrap();
    for style in [Style::Drawn, Style::Picture] {
        let one = classify_drawn(&model, &traces, style, 1, 1).unwrap();
        assert_eq!(one, classify_drawn(&model, &traces, style, 1, 3).unwrap());
        let right = one.iter().zip(&test.labels).filter(|(a, b)| a == b).count();
        assert!(right > 570, "{style:?}: {right} of 600");
        let same = (0..600)
            .filter(|&i| {
                style.benchmark_input(1, i, &traces[i]) == style.benchmark_input(2, i, &traces[i])
            })
            .count();
        assert_eq!(same, 0, "{style:?}: seed 2 draws every digit differently");
        assert_eq!(
            style.benchmark_input(1, 5, &traces[5]),
            style.benchmark_input(1, 5, &traces[5])
        );
    }
    std::fs::remove_dir_all(&cache).unwrap();
}
