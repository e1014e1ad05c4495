//! Writes the native side of the wasm == native parity test: the probabilities of the stroke
//! drawings of tests/e2e/digits.json, to target/wasm-parity.json, and every layer view of both
//! shipped networks for them, to target/wasm-parity-layers.json, which the browser run of
//! `tests/parity.rs` compiles in. `scripts/test.sh` runs it right before that test:
//!
//!     cargo run -p digits-web --release --example parity_fixture

#[path = "../tests/common/parity.rs"]
mod parity;

fn main() {
    let p = parity::probabilities();
    assert_eq!(p.len(), parity::COUNT);
    write(parity::FIXTURE, &p, "probabilities");
    write(parity::LAYERS_FIXTURE, &parity::layers(), "layer values");
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
