//! Inference against ONNX Runtime, natively, on the shipped model: tract as `digits` runs it and
//! ONNX Runtime (Python's `onnxruntime`, one thread) on the same 100 MNIST test digits, per image
//! at batch 1 and batch 100; `digits eval` on the 10,000 test digits against the same job in ONNX
//! Runtime, whole processes; and where one tract inference spends its time, step by step.
//! Prints the figures and the ratios.
//!
//! `cargo bench -p digits-train --bench inference`. Needs the MNIST test set in `data/mnist`
//! (`scripts/fetch-mnist.sh`) and a Python with `onnxruntime` (`target/pyenv`, which
//! `scripts/test.sh` makes; else `python3`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use digits_core::PIXELS;
use digits_core::idx::{self, Split};
use digits_core::model::{Model, to_input};
use digits_train::cli::model_from_bytes;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Median seconds of `times` calls of `run`.
fn median(times: usize, mut run: impl FnMut()) -> f64 {
    let mut samples: Vec<f64> = (0..times)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed().as_secs_f64()
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[times / 2]
}

/// tract's per-image seconds at batch 1 (cycling through the images) and batch 100.
fn tract_times(model: &Model, inputs: &[f32]) -> (f64, f64) {
    let images: Vec<&[f32]> = inputs.chunks(PIXELS).collect();
    for image in &images {
        model.predict(image).unwrap();
    }
    let mut turn = 0;
    let batch1 = median(2000, || {
        model.predict(images[turn % images.len()]).unwrap();
        turn += 1;
    });
    let batch100 = median(60, || {
        model.predict(inputs).unwrap();
    }) / images.len() as f64;
    (batch1, batch100)
}

fn python() -> PathBuf {
    let venv = root().join("target/pyenv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// Runs `command` `times` times; the median wall-clock seconds and its last standard output.
fn whole_process(times: usize, mut command: impl FnMut() -> Command) -> (f64, String) {
    let mut out = String::new();
    let seconds = median(times, || {
        let o = command().output().expect("cannot start the process");
        assert!(
            o.status.success(),
            "{:?} failed: {}",
            command(),
            String::from_utf8_lossy(&o.stderr)
        );
        out = String::from_utf8_lossy(&o.stdout).trim().to_string();
    });
    (seconds, out.lines().last().unwrap_or_default().to_string())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument means another bench target was asked for.
    if std::env::args().skip(1).any(|a| !a.starts_with('-')) {
        return;
    }
    let root = root();
    let model_path = root.join("web/assets/model.onnx");
    let data = root.join("data/mnist");
    let bytes = std::fs::read(&model_path).expect("web/assets/model.onnx");
    let test = idx::load_split(&data, Split::Test)
        .unwrap_or_else(|e| panic!("{e:#}: run scripts/fetch-mnist.sh first"));
    let inputs = to_input(&test.images.pixels[..100 * PIXELS]);

    println!(
        "Inference of the shipped model ({}), 1 thread",
        model_path.display()
    );
    let fixed = model_from_bytes(&bytes, "model.onnx").unwrap();
    let any = Model::from_bytes(&bytes, "model.onnx").unwrap();
    let (t1, t100) = tract_times(&fixed, &inputs);
    let (a1, a100) = tract_times(&any, &inputs);

    let scratch = std::env::temp_dir().join(format!("digits-bench-{}.f32", std::process::id()));
    let raw: Vec<u8> = inputs.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&scratch, raw).unwrap();
    let script = root.join("scripts/ort-reference.py");
    let out = Command::new(python())
        .arg(&script)
        .args(["time".as_ref(), model_path.as_os_str(), scratch.as_os_str()])
        .output()
        .expect("cannot start Python");
    let _ = std::fs::remove_file(&scratch);
    assert!(
        out.status.success(),
        "ONNX Runtime failed (is onnxruntime installed? scripts/test.sh makes target/pyenv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ort: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (o1, o100) = (
        ort["batch1_s"].as_f64().unwrap(),
        ort["batch100_s"].as_f64().unwrap(),
    );
    let us = |s: f64| format!("{:.1} µs", s * 1e6);
    println!(
        "| per image | tract, plan for 1 image (digits) | tract, any-size plan | ONNX Runtime {} | tract / ONNX Runtime |",
        ort["version"].as_str().unwrap_or("?")
    );
    println!("|---|---|---|---|---|");
    println!(
        "| batch 1 | {} | {} | {} | {:.2} |",
        us(t1),
        us(a1),
        us(o1),
        t1 / o1
    );
    println!(
        "| batch 100 | {} | {} | {} | {:.2} |",
        us(t100),
        us(a100),
        us(o100),
        t100 / o100
    );

    println!(
        "\n`digits eval` on the 10,000 test digits against ONNX Runtime, whole process, every core (median of 5)"
    );
    let (digits, digits_out) = whole_process(5, || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_digits"));
        c.args([
            "eval".as_ref(),
            "--model".as_ref(),
            model_path.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
        ]);
        c
    });
    let (onnx, onnx_out) = whole_process(5, || {
        let mut c = Command::new(python());
        c.arg(&script)
            .args(["eval".as_ref(), model_path.as_os_str(), data.as_os_str()]);
        c
    });
    println!("| digits eval | ONNX Runtime (Python) | ratio |\n|---|---|---|");
    println!(
        "| {digits:.2} s ({digits_out}) | {onnx:.2} s ({onnx_out}) | {:.2} |",
        digits / onnx
    );

    println!("\nWhere one tract inference (plan for 1 image) spends its time, mean of 2,000 runs");
    let t0 = Instant::now();
    let steps = fixed
        .profile(&inputs[..PIXELS], 2000, || t0.elapsed().as_secs_f64())
        .unwrap();
    let total: f64 = steps.iter().map(|s| s.seconds).sum();
    for s in steps.iter().filter(|s| s.seconds >= 0.005 * total) {
        println!(
            "{:>9} {:>5.1}%  {:16} {}",
            us(s.seconds),
            100.0 * s.seconds / total,
            s.op,
            s.name
        );
    }
    println!("{:>9} in all", us(total));
}
