//! wasm == native: the wasm build of preprocessing + inference gives the native probabilities.
//!
//! Natively (`cargo test`), this computes the probabilities of the stroke drawings of
//! tests/e2e/digits.json at several scales and writes them to target/wasm-parity.json. In the
//! browser (`cargo test --target wasm32-unknown-unknown`, run by wasm-bindgen-test-runner in
//! headless Chromium), the same file is compiled in and every probability must agree within 1e-5.

use digits_core::model::Model;
use digits_core::preprocess::{Stroke, strokes_to_mnist};

const MODEL: &[u8] = include_bytes!("../../../web/assets/model.onnx");
const DRAWINGS: &str = include_str!("../../../tests/e2e/digits.json");
const SCALES: [f32; 3] = [1.0, 317.0, 1234.5];

/// Parses digits.json (a tiny fixed format: digit -> strokes -> [x, y] points) without serde.
fn drawings() -> Vec<Vec<Stroke>> {
    let mut out = Vec::new();
    for line in DRAWINGS.lines().filter(|l| l.contains(": [")) {
        let body = &line[line.find(": ").unwrap() + 2..];
        let mut strokes: Vec<Stroke> = Vec::new();
        let mut depth = 0;
        let mut num = String::new();
        let mut point: Vec<f32> = Vec::new();
        for c in body.chars() {
            match c {
                '[' => {
                    depth += 1;
                    if depth == 2 {
                        strokes.push(Vec::new());
                    }
                }
                ']' | ',' => {
                    if !num.trim().is_empty() {
                        point.push(num.trim().parse().unwrap());
                        num.clear();
                    }
                    if c == ']' {
                        if depth == 3 {
                            strokes.last_mut().unwrap().push((point[0], point[1]));
                            point.clear();
                        }
                        depth -= 1;
                    }
                }
                _ => num.push(c),
            }
        }
        out.push(strokes);
    }
    out
}

/// Probabilities for every drawing at every scale, flattened.
fn probabilities() -> Vec<f32> {
    // Loaded as the page loads it.
    let model = Model::from_bytes_for_batch(MODEL, "model.onnx", digits_web::MODEL_BATCH).unwrap();
    let mut out = Vec::new();
    for d in drawings() {
        for s in SCALES {
            let scaled: Vec<Stroke> = d
                .iter()
                .map(|st| st.iter().map(|&(x, y)| (x * s, y * s)).collect())
                .collect();
            let input = strokes_to_mnist(&scaled).unwrap();
            out.extend_from_slice(&model.predict(&input).unwrap()[0]);
        }
    }
    out
}

#[test]
fn parses_all_ten_drawings() {
    let d = drawings();
    assert_eq!(d.len(), 10);
    assert_eq!(d[4].len(), 2, "the 4 has two strokes");
    assert!(d.iter().all(|s| s.iter().all(|st| st.len() >= 2)));
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn native_probabilities_written_for_the_wasm_run() {
    let p = probabilities();
    assert_eq!(p.len(), 10 * SCALES.len() * 10);
    let text: Vec<String> = p.iter().map(|v| format!("{v:e}")).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/wasm-parity.json");
    std::fs::write(path, format!("[{}]\n", text.join(","))).unwrap();
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen_test::*;
    wasm_bindgen_test_configure!(run_in_browser);

    const NATIVE: &str = include_str!("../../../target/wasm-parity.json");

    #[wasm_bindgen_test]
    fn wasm_matches_native_within_1e_5() {
        let native: Vec<f32> = NATIVE
            .trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let wasm = super::probabilities();
        assert_eq!(native.len(), wasm.len());
        let worst = native
            .iter()
            .zip(&wasm)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-5, "max abs difference {worst}");
    }
}
