//! Writes the native side of the wasm == native parity test: the probabilities of the stroke
//! drawings of tests/e2e/digits.json, to target/wasm-parity.json, and every layer view of both
//! shipped networks for them, to target/wasm-parity-layers.json, which the browser run of
//! `tests/parity.rs` compiles in; and for the training check (`tests/training.rs`), the first
//! MNIST training digits and a native short run's loss at every step. `scripts/test.sh` runs it right before that test:
//!
//!     cargo run -p digits-web --release --example parity_fixture

#[path = "../tests/common/parity.rs"]
mod parity;
#[path = "../tests/common/training.rs"]
mod training;

fn main() {
    let p = parity::probabilities();
    assert_eq!(p.len(), parity::COUNT);
    write(parity::FIXTURE, &p, "probabilities");
    write(parity::LAYERS_FIXTURE, &parity::layers(), "layer values");
    // The training check: the first training digits, and the native run's loss at every step.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = match digits_core::idx::load_split(
        &root.join("data/mnist"),
        digits_core::idx::Split::Train,
    ) {
        Ok(d) => d.slice(0..training::IMAGES),
        Err(e) => {
            eprintln!("parity_fixture: {e} (run scripts/fetch-mnist.sh)");
            std::process::exit(1);
        }
    };
    let mut bytes = data.images.pixels.clone();
    bytes.extend_from_slice(&data.labels);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(training::DIGITS_FIXTURE);
    if let Err(e) = std::fs::write(&path, bytes) {
        eprintln!("parity_fixture: {}: cannot write: {e}", path.display());
        std::process::exit(1);
    }
    let clock = digits_train::clock::Clock::start();
    let (losses, _) = training::run(&data, 1);
    let images = (training::IMAGES * training::config().epochs) as f64;
    eprintln!(
        "native, one thread: {:.0} training images/s (the same run as the wasm training test)",
        images / clock.seconds()
    );
    let losses: Vec<f32> = losses.iter().map(|&l| l as f32).collect();
    write(training::LOSSES_FIXTURE, &losses, "training losses");
}

fn write(file: &str, values: &[f32], what: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text: Vec<String> = values.iter().map(|v| format!("{v:e}")).collect();
    if let Err(e) = std::fs::write(&path, format!("[{}]\n", text.join(","))) {
        eprintln!("parity_fixture: {}: cannot write: {e}", path.display());
        std::process::exit(1);
    }
    eprintln!("wrote {} ({} {what})", path.display(), values.len());
}
