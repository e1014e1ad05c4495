//! wasm == native: the wasm build of preprocessing + inference gives the native probabilities.
//!
//! Natively, `examples/parity_fixture.rs` computes the probabilities of the stroke drawings of
//! tests/e2e/digits.json and writes them to target/wasm-parity.json. In the browser (`cargo test
//! --target wasm32-unknown-unknown --test parity`, run by wasm-bindgen-test-runner in headless
//! Chromium) the same computation runs compiled to wasm, and every probability must agree with
//! that file within 1e-5. `scripts/test.sh` runs the two in that order.

mod common;

use common::parity;

#[test]
fn parses_all_ten_drawings() {
    let d = parity::drawings();
    assert_eq!(d.len(), 10);
    assert_eq!(d[4].len(), 2, "the 4 has two strokes");
    assert!(d.iter().all(|s| s.iter().all(|st| st.len() >= 2)));
}

#[test]
fn every_drawing_gives_probabilities() {
    let p = parity::probabilities();
    assert_eq!(p.len(), parity::COUNT);
    for probs in p.chunks(digits_core::CLASSES) {
        let sum: f32 = probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "{probs:?}");
    }
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen_test::*;
    wasm_bindgen_test_configure!(run_in_browser);

    /// Written by `cargo run -p digits-web --release --example parity_fixture`.
    const NATIVE: &str = include_str!("../../../target/wasm-parity.json");
    const NATIVE_LAYERS: &str = include_str!("../../../target/wasm-parity-layers.json");

    fn parse(text: &str) -> Vec<f32> {
        text.trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect()
    }

    /// The largest difference between the native and the wasm values (as many of each).
    fn worst(native: &[f32], wasm: &[f32]) -> f32 {
        assert_eq!(native.len(), wasm.len());
        native
            .iter()
            .zip(wasm)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    /// Every layer the page shows, of both networks, as the native build computes it.
    #[wasm_bindgen_test]
    fn wasm_layers_match_native_within_1e_5() {
        let worst = worst(&parse(NATIVE_LAYERS), &super::parity::layers());
        assert!(worst < 1e-5, "max abs difference {worst}");
    }

    #[wasm_bindgen_test]
    fn wasm_matches_native_within_1e_5() {
        let worst = worst(&parse(NATIVE), &super::parity::probabilities());
        assert!(worst < 1e-5, "max abs difference {worst}");
    }
}
