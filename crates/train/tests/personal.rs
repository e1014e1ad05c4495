//! Teaching the trainer one's handwriting from the command line: `digits finetune` on a
//! personal samples file made of the page test's own drawings (the mirror writer,
//! tests/e2e/personal-style.json), and on bad input.

mod common;

use common::{digits, fails_with, root, stderr, tmp};

use digits_core::personal::{Sample, Samples};
use digits_core::preprocess::{Stroke, strokes_to_mnist};

/// The page test's drawings as a personal samples file (each input is the page's
/// preprocessing of the strokes), as the page's "Export samples" would write them.
fn mirror_writer_file() -> Samples {
    let text = std::fs::read_to_string(root().join("tests/e2e/personal-style.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let samples: Vec<Sample> = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let label = s["label"].as_u64().unwrap() as u8;
            let strokes: Vec<Vec<[f32; 2]>> = serde_json::from_value(s["strokes"].clone()).unwrap();
            let as_points: Vec<Stroke> = strokes
                .iter()
                .map(|s| s.iter().map(|p| (p[0], p[1])).collect())
                .collect();
            let input = strokes_to_mnist(&as_points).unwrap();
            Sample::from_input(label, &input, strokes, 0.0)
        })
        .collect();
    Samples { samples }
}

#[test]
fn fine_tuning_learns_a_mirrored_hand_without_forgetting_mnist() {
    let samples = mirror_writer_file();
    assert_eq!(samples.len(), 60);
    assert!(samples.counts().iter().all(|&c| c == 6));
    let dir = tmp("personal");
    let file = dir.join("personal.json");
    std::fs::write(&file, samples.to_json()).unwrap();
    let model = dir.join("mine.onnx");
    let data = common::data_dir();
    let out = digits(&[
        "finetune",
        "--personal",
        file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--threads",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |k: &str| v[k].as_f64().unwrap();
    assert_eq!(v["held_out"], 10);
    assert_eq!(v["trained_on"], 50);
    // The shipped model reads most mirrored digits wrong; the fine-tuned one reads them all.
    assert!(f("before") < 0.7, "{v}");
    assert!(f("after") >= 0.95, "{v}");
    assert!(f("mnist_before") - f("mnist_after") <= 0.003, "{v}");
    // The file written is a model `digits eval` runs, with about the accuracy it printed.
    let eval = digits(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    let e: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let accuracy = e["accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - f("mnist_after")).abs() <= 0.001,
        "{accuracy} vs {v}"
    );
}

#[test]
fn bad_personal_files_are_refused_by_name() {
    let dir = tmp("personal-bad");
    let out_model = dir.join("m.onnx");
    let run = |file: &std::path::Path| {
        digits(&[
            "finetune",
            "--personal",
            file.to_str().unwrap(),
            "--out",
            out_model.to_str().unwrap(),
        ])
    };
    let junk = dir.join("junk.json");
    std::fs::write(&junk, "{\"samples\": 3}").unwrap();
    fails_with(&run(&junk), "junk.json: not a personal samples file");
    let empty = dir.join("empty.json");
    std::fs::write(&empty, Samples::default().to_json()).unwrap();
    fails_with(&run(&empty), "empty.json: no samples to fine-tune on");
    fails_with(&run(&dir.join("missing.json")), "missing.json: cannot read");
    let mut one = mirror_writer_file();
    one.samples[4].label = 10;
    let bad = dir.join("bad.json");
    std::fs::write(&bad, one.to_json()).unwrap();
    fails_with(&run(&bad), "sample 5: label 10 is not a digit 0-9");
    // A model that is not one of ours.
    let good = dir.join("good.json");
    std::fs::write(&good, mirror_writer_file().to_json()).unwrap();
    let not_model = dir.join("not.onnx");
    std::fs::write(&not_model, b"nope").unwrap();
    let out = digits(&[
        "finetune",
        "--personal",
        good.to_str().unwrap(),
        "--model",
        not_model.to_str().unwrap(),
        "--out",
        out_model.to_str().unwrap(),
    ]);
    fails_with(&out, "not.onnx: not an ONNX file");
    assert!(!out_model.exists(), "nothing written on failure");
}
