//! What the wasm == native parity check computes: the probabilities of the stroke drawings of
//! tests/e2e/digits.json at several scales, through preprocessing and the model loaded as the page
//! loads it. Shared by the fixture tool (examples/parity_fixture.rs, native) and the test
//! (tests/parity.rs, in the browser).
// Each test binary that includes `common` uses only some of it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use digits_core::preprocess::{Stroke, strokes_to_mnist};

const MODEL: &[u8] = include_bytes!("../../../../web/assets/model.onnx");
const MLP: &[u8] = include_bytes!("../../../../web/assets/mlp.onnx");
const DRAWINGS: &str = include_str!("../../../../tests/e2e/digits.json");
const SCALES: [f32; 3] = [1.0, 317.0, 1234.5];

/// Where the fixture tool writes the native probabilities, relative to this crate.
pub const FIXTURE: &str = "../../target/wasm-parity.json";
/// Where it writes the native layer views.
pub const LAYERS_FIXTURE: &str = "../../target/wasm-parity-layers.json";

/// The drawings of digits.json, 0 to 9: strokes of [x, y] points.
pub fn drawings() -> Vec<Vec<Stroke>> {
    let by_digit: BTreeMap<String, Vec<Vec<(f32, f32)>>> =
        serde_json::from_str(DRAWINGS).expect("tests/e2e/digits.json: digit -> strokes -> [x, y]");
    by_digit.into_values().collect()
}

/// The 28x28 input of every drawing (at scale 1).
fn inputs() -> Vec<Vec<f32>> {
    drawings()
        .iter()
        .map(|d| strokes_to_mnist(d).unwrap())
        .collect()
}

/// What "Inside the network" shows for every drawing, flattened: every layer of the CNN (the
/// layer plan), then every layer of the plain network, as `Model::layers` gives them.
pub fn layers() -> Vec<f32> {
    let mut out = Vec::new();
    for bytes in [MODEL, MLP] {
        let model = digits_core::model::Model::from_bytes_with_layers(bytes, "model").unwrap();
        for input in inputs() {
            for view in model.layers(&input).unwrap() {
                out.extend_from_slice(&view.values);
            }
        }
    }
    out
}

/// Probabilities for every drawing at every scale, flattened.
pub fn probabilities() -> Vec<f32> {
    let model = digits_web::model_file::load(MODEL).unwrap();
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

/// Probabilities per drawing and scale.
pub const COUNT: usize = 10 * SCALES.len() * digits_core::CLASSES;
