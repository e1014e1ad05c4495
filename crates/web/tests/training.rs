//! wasm == native for training: the trainer's library, compiled to wasm, trains the page's
//! default network on the first MNIST training digits with the loss trajectory of the native
//! build, and the same bits whatever number of workspaces (the page's workers) share the
//! shards.
//!
//! Natively, `examples/parity_fixture.rs` writes the digits and the native run's losses to
//! target/; in the browser (`cargo test --target wasm32-unknown-unknown --test training`, run by
//! wasm-bindgen-test-runner in headless Chromium) the same run is compiled in and compared.
//! `scripts/test.sh` runs the two in that order.

mod common;

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::common::training;
    use wasm_bindgen_test::*;
    wasm_bindgen_test_configure!(run_in_browser);

    /// Written by `cargo run -p digits-web --release --example parity_fixture`.
    const DIGITS: &[u8] = include_bytes!("../../../target/wasm-train-digits.bin");
    const NATIVE_LOSSES: &str = include_str!("../../../target/wasm-train-losses.json");

    #[wasm_bindgen_test]
    fn wasm_training_follows_the_native_losses_and_does_not_depend_on_workers() {
        let data = training::digits(DIGITS);
        let native: Vec<f64> = NATIVE_LOSSES
            .trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let clock = digits_train::clock::Clock::start();
        let (losses, bits) = training::run(&data, 1);
        let seconds = clock.seconds();
        let images = (training::IMAGES * training::config().epochs) as f64;
        wasm_bindgen_test::console_log!(
            "wasm, one thread: {:.0} training images/s ({images} images in {seconds:.2} s)",
            images / seconds
        );
        assert_eq!(losses.len(), native.len());
        // Summed over a step's images; the builds differ in float rounding (the native matrix
        // kernels use fused multiply-adds, wasm's do not), so the same within 1e-4 (measured: about 1e-5).
        let worst = losses
            .iter()
            .zip(&native)
            .map(|(a, b)| ((a - b) / b).abs())
            .fold(0.0, f64::max);
        wasm_bindgen_test::console_log!(
            "largest relative difference of the step losses: {worst:e}"
        );
        assert!(
            worst < 1e-4,
            "largest relative difference {worst}: {losses:?} vs {native:?}"
        );
        // It learns: the last step's loss is well below the first's.
        assert!(losses[losses.len() - 1] < 0.8 * losses[0], "{losses:?}");
        for workers in [2, 3] {
            assert_eq!(
                training::run(&data, workers).1,
                bits,
                "{workers} workspaces"
            );
        }
    }
}
