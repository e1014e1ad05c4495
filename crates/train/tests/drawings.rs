//! The stroke drawings the browser tests draw (tests/e2e/digits.json) are recognized by the
//! native pipeline: strokes -> digits-core preprocessing -> shipped model.

use digits_core::metrics::argmax;
use digits_core::model::Model;
use digits_core::preprocess::{Stroke, strokes_to_mnist};

#[test]
fn designed_drawings_are_recognized() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let model = Model::from_bytes(
        &std::fs::read(format!("{root}/web/assets/model.onnx")).unwrap(),
        "model",
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/tests/e2e/digits.json")).unwrap(),
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
